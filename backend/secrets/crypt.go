package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// sealer encrypts secret values with AES-256-GCM. Each value gets a fresh
// random 96-bit nonce, and the project id and secret name are the
// additional data: a ciphertext copied onto another row (another project,
// another name) fails to open instead of silently yielding the wrong value.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("secrets key has %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func additional(projectID, name string) []byte { return []byte(projectID + "\x00" + name) }

// seal returns nonce and ciphertext (with its tag).
func (s *sealer) seal(projectID, name, value string) (nonce, ct []byte, err error) {
	nonce = make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("secret nonce: %w", err)
	}
	return nonce, s.aead.Seal(nil, nonce, []byte(value), additional(projectID, name)), nil
}

// errWrongKey is what opening fails with when the key is not the one the
// value was sealed with (or the row was tampered with).
var errWrongKey = errors.New("cannot decrypt: the secrets key is not the one this value was stored with")

func (s *sealer) open(projectID, name string, nonce, ct []byte) (string, error) {
	if len(nonce) != s.aead.NonceSize() {
		return "", errWrongKey
	}
	pt, err := s.aead.Open(nil, nonce, ct, additional(projectID, name))
	if err != nil {
		return "", errWrongKey
	}
	return string(pt), nil
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(k) != keySize {
		return nil, fmt.Errorf("%d bytes, want %d", len(k), keySize)
	}
	return k, nil
}
