package engine

// BatchStats reports group commit counters (for benchmarks).
func (e *Engine) BatchStats() (commits, steps int64) {
	return e.batch.commits.Load(), e.batch.steps.Load()
}
