// Package seal keeps secrets that travel on the chain (the session token, the
// login's tmp code) unreadable on the bus: AES-256-GCM with the session id as
// associated data, so a sealed value cannot be replayed under another session.
// The wire form is base64(nonce || ciphertext), as CONTRACT section 3 says.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the size of a TOKEN_SEAL_KEY in bytes.
const KeySize = 32

// ErrOpen is returned when a sealed value is malformed, was sealed with another
// key, or belongs to another session. It never says which, and holds no data.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer seals and opens values with one key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: gcm: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to sessionID and returns base64(nonce || ciphertext).
func (s *Sealer) Seal(plaintext, sessionID string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plaintext), []byte(sessionID))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open reverses Seal. Any failure is ErrOpen.
func (s *Sealer) Open(sealed, sessionID string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return "", ErrOpen
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(sessionID))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
