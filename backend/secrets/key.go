package secrets

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/zalando/go-keyring"
)

// KeyFile is the name of the key file in the data dir, beside jwt.key.
const KeyFile = "secrets.key"

const keySize = 32 // AES-256

// Key store choices for LoadKey.
const (
	// StoreAuto uses the OS keychain when one is reachable and the key file
	// otherwise. A key already kept in one of them stays there.
	StoreAuto = "auto"
	// StoreKeychain requires the OS keychain and fails when it is not reachable.
	StoreKeychain = "keychain"
	// StoreFile always uses <data-dir>/secrets.key (mode 0600).
	StoreFile = "file"
)

// Keychain is the OS credential store (macOS Keychain, Windows Credential
// Manager, the freedesktop Secret Service on Linux). OSKeychain is the real
// one; the interface exists so the choice between keychain and key file can
// be tested on machines that have no keychain.
type Keychain interface {
	// Available reports whether the keychain can be asked at all.
	Available() bool
	// Get returns the stored key, or ErrNoKey when none is stored.
	Get(account string) (string, error)
	Set(account, value string) error
}

// ErrNoKey is returned by Keychain.Get when no key is stored.
var ErrNoKey = errors.New("no key stored")

// keychainService is the service name of the keychain entry.
const keychainService = "flowweaver"

// OSKeychain uses github.com/zalando/go-keyring.
type OSKeychain struct{}

// Available is false on Linux without a D-Bus session bus: the Secret
// Service lives on that bus, and without DBUS_SESSION_BUS_ADDRESS the D-Bus
// library would try to autolaunch a bus daemon, a process that would outlive
// Flow Weaver. Headless servers therefore use the key file.
func (OSKeychain) Available() bool {
	if runtime.GOOS == "linux" || runtime.GOOS == "freebsd" || runtime.GOOS == "openbsd" {
		return os.Getenv("DBUS_SESSION_BUS_ADDRESS") != ""
	}
	return true
}

// Get implements Keychain.
func (OSKeychain) Get(account string) (string, error) {
	v, err := keyring.Get(keychainService, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", ErrNoKey
	}
	return v, err
}

// Set implements Keychain.
func (OSKeychain) Set(account, value string) error {
	return keyring.Set(keychainService, account, value)
}

// KeyInfo says where the key was found or created.
type KeyInfo struct {
	Store string // StoreKeychain or StoreFile
	Path  string // the key file, when Store is StoreFile
}

// LoadKey returns the data dir's secrets key, creating it on first use.
//
// Where it lives (mode StoreAuto): an existing key file wins (a key never
// moves, or secrets written with it would become unreadable); then a key in
// the keychain under an account named after the data dir; otherwise a new
// key goes to the keychain if one is available and accepts it, else to
// <data-dir>/secrets.key with mode 0600.
func LoadKey(dataDir, mode string, kc Keychain) ([]byte, KeyInfo, error) {
	return loadKey(dataDir, mode, kc, true)
}

// FindKey is LoadKey without creating a key: when secrets are already
// stored, a missing key must be reported, not silently replaced by a new
// one that cannot decrypt them.
func FindKey(dataDir, mode string, kc Keychain) ([]byte, KeyInfo, error) {
	return loadKey(dataDir, mode, kc, false)
}

// ErrKeyMissing is FindKey's error when no key exists where it is looked for.
var ErrKeyMissing = errors.New("the secrets key is missing")

func loadKey(dataDir, mode string, kc Keychain, create bool) ([]byte, KeyInfo, error) {
	if kc == nil {
		kc = OSKeychain{}
	}
	path := filepath.Join(dataDir, KeyFile)
	fileInfo := KeyInfo{Store: StoreFile, Path: path}
	missing := func(where string) error {
		return fmt.Errorf("%w (looked in %s): the stored secrets cannot be decrypted; restore the key, or delete the secrets and set them again", ErrKeyMissing, where)
	}
	_, statErr := os.Stat(path)
	fileExists := statErr == nil
	switch mode {
	case "", StoreAuto:
	case StoreFile:
		if !create && !fileExists {
			return nil, KeyInfo{}, missing(path)
		}
		k, err := loadKeyFile(path)
		return k, fileInfo, err
	case StoreKeychain:
		if !kc.Available() {
			return nil, KeyInfo{}, errors.New("secrets key: no OS keychain is reachable (on Linux the Secret Service needs a D-Bus session); use the key file instead")
		}
		k, err := keychainKey(dataDir, kc, create)
		if errors.Is(err, ErrNoKey) {
			err = missing("the OS keychain")
		}
		return k, KeyInfo{Store: StoreKeychain}, err
	default:
		return nil, KeyInfo{}, fmt.Errorf("secrets key: unknown key store %q (use auto, keychain or file)", mode)
	}
	if fileExists {
		k, err := loadKeyFile(path)
		return k, fileInfo, err
	}
	if kc.Available() {
		if k, err := keychainKey(dataDir, kc, create); err == nil {
			return k, KeyInfo{Store: StoreKeychain}, nil
		}
	}
	if !create {
		return nil, KeyInfo{}, missing(path + " and the OS keychain")
	}
	k, err := loadKeyFile(path)
	return k, fileInfo, err
}

// keychainAccount names the keychain entry of one data dir, so two data
// dirs of one user have two keys.
func keychainAccount(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	return "secrets-key:" + abs
}

func keychainKey(dataDir string, kc Keychain, create bool) ([]byte, error) {
	acct := keychainAccount(dataDir)
	v, err := kc.Get(acct)
	if err == nil {
		k, derr := decodeKey(v)
		if derr != nil {
			return nil, fmt.Errorf("secrets key in the OS keychain: %w", derr)
		}
		return k, nil
	}
	if errors.Is(err, ErrNoKey) && !create {
		return nil, ErrNoKey
	}
	if !errors.Is(err, ErrNoKey) {
		return nil, fmt.Errorf("read secrets key from the OS keychain: %w", err)
	}
	k := make([]byte, keySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate secrets key: %w", err)
	}
	if err := kc.Set(acct, encodeKey(k)); err != nil {
		return nil, fmt.Errorf("store secrets key in the OS keychain: %w", err)
	}
	return k, nil
}

// loadKeyFile reads the key file, creating it (0600, exclusively) when it
// does not exist. A key of the wrong size or a file others can read is
// refused rather than silently used or replaced.
func loadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := make([]byte, keySize)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("generate secrets key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadKeyFile(path) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("create secrets key: %w", err)
		}
		if _, err := f.Write(k); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("write secrets key: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("sync secrets key: %w", err)
		}
		return k, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("stat secrets key: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("secrets key %s is readable by other users (mode %v); chmod 600 it", path, st.Mode().Perm())
		}
	}
	if len(b) != keySize {
		return nil, fmt.Errorf("secrets key %s has %d bytes, want %d", path, len(b), keySize)
	}
	return b, nil
}
