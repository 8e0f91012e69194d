package store

import "testing"

// TestRebindDollarNumbersLikeSQLite: the repositories' SQL is written
// for SQLite, where a plain ? after numbered parameters takes the number
// after the largest one so far; PostgreSQL must receive the same
// numbering, and ? inside string literals is left alone.
func TestRebindDollarNumbersLikeSQLite(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT ?, ?":                       "SELECT $1, $2",
		"UPDATE t SET a = ?1 WHERE b = ?2":  "UPDATE t SET a = $1 WHERE b = $2",
		"VALUES (?1,?,0),(?1,?,1)":          "VALUES ($1,$2,0),($1,$3,1)",
		"VALUES (?1,?2,?,?),(?1,?2,?,?)":    "VALUES ($1,$2,$3,$4),($1,$2,$5,$6)",
		"SELECT ?3, ?":                      "SELECT $3, $4",
		"SELECT '?', ? WHERE x LIKE 'a?b%'": "SELECT '?', $1 WHERE x LIKE 'a?b%'",
	} {
		if got := rebindDollar(q); got != want {
			t.Errorf("rebindDollar(%q) = %q, want %q", q, got, want)
		}
	}
}
