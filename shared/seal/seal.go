// Package seal keeps secrets that travel on the chain (the session token, the
// login's tmp code) unreadable on the bus: AES-256-GCM under TOKEN_SEAL_KEY.
//
// Wire form: base64(key_id || nonce || ciphertext), where key_id is the first
// 4 bytes of SHA-256(key) (it names the key, never reveals it) and the
// associated data is purpose + 0x00 + session_id, the purpose being "token" or
// "tmp". So a sealed value cannot be replayed under another session, nor a tmp
// opened as a token or the reverse. A Sealer seals with its current key and
// opens with it or with the previous one (TOKEN_SEAL_KEY_PREVIOUS), so a key
// rotation does not strand the sessions in flight.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the size of a TOKEN_SEAL_KEY in bytes.
const KeySize = 32

// KeyIDSize is the size of the key id that starts every sealed value.
const KeyIDSize = 4

// Purposes a value is sealed for.
const (
	PurposeToken = "token"
	PurposeTmp   = "tmp"
)

// ErrOpen is returned when a sealed value is malformed, was sealed with another
// key, for another purpose, or belongs to another session. It never says which,
// and holds no data.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Sealer seals and opens values. It is safe for concurrent use.
type Sealer struct {
	current key
	keys    []key // current first, then the previous ones
}

type key struct {
	id   []byte
	aead cipher.AEAD
}

// KeyID is the id written before values sealed under k: the first KeyIDSize
// bytes of SHA-256(k).
func KeyID(k []byte) []byte {
	sum := sha256.Sum256(k)
	return sum[:KeyIDSize]
}

func newKey(k []byte) (key, error) {
	if len(k) != KeySize {
		return key{}, fmt.Errorf("seal: key must be %d bytes, got %d", KeySize, len(k))
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return key{}, fmt.Errorf("seal: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("seal: gcm: %w", err)
	}
	return key{id: KeyID(k), aead: aead}, nil
}

// New returns a Sealer that seals with the 32-byte key k and opens with k or
// any of the previous keys (nil or empty ones are skipped).
func New(k []byte, previous ...[]byte) (*Sealer, error) {
	cur, err := newKey(k)
	if err != nil {
		return nil, err
	}
	s := &Sealer{current: cur, keys: []key{cur}}
	for _, p := range previous {
		if len(p) == 0 {
			continue
		}
		pk, err := newKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous %w", err)
		}
		s.keys = append(s.keys, pk)
	}
	return s, nil
}

func aad(purpose, sessionID string) []byte {
	return append(append([]byte(purpose), 0), sessionID...)
}

// Seal seals a session token for sessionID (purpose "token").
func (s *Sealer) Seal(plaintext, sessionID string) (string, error) {
	return s.SealFor(PurposeToken, plaintext, sessionID)
}

// Open opens a token sealed by Seal for sessionID. Any failure is ErrOpen.
func (s *Sealer) Open(sealed, sessionID string) (string, error) {
	return s.OpenFor(PurposeToken, sealed, sessionID)
}

// SealTmp seals a login's tmp for sessionID (purpose "tmp").
func (s *Sealer) SealTmp(plaintext, sessionID string) (string, error) {
	return s.SealFor(PurposeTmp, plaintext, sessionID)
}

// OpenTmp opens a tmp sealed by SealTmp for sessionID. Any failure is ErrOpen.
func (s *Sealer) OpenTmp(sealed, sessionID string) (string, error) {
	return s.OpenFor(PurposeTmp, sealed, sessionID)
}

// SealFor encrypts plaintext for purpose and sessionID under the current key
// and returns base64(key_id || nonce || ciphertext).
func (s *Sealer) SealFor(purpose, plaintext, sessionID string) (string, error) {
	k := s.current
	n := k.aead.NonceSize()
	out := make([]byte, KeyIDSize+n, KeyIDSize+n+len(plaintext)+k.aead.Overhead())
	copy(out, k.id)
	nonce := out[KeyIDSize:]
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out = k.aead.Seal(out, nonce, []byte(plaintext), aad(purpose, sessionID))
	return base64.StdEncoding.EncodeToString(out), nil
}

// OpenFor reverses SealFor with the key the value names. Any failure is ErrOpen.
func (s *Sealer) OpenFor(purpose, sealed, sessionID string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < KeyIDSize {
		return "", ErrOpen
	}
	for _, k := range s.keys {
		if !bytes.Equal(raw[:KeyIDSize], k.id) {
			continue
		}
		body := raw[KeyIDSize:]
		n := k.aead.NonceSize()
		if len(body) < n+k.aead.Overhead() {
			return "", ErrOpen
		}
		plain, err := k.aead.Open(nil, body[:n], body[n:], aad(purpose, sessionID))
		if err != nil {
			return "", ErrOpen
		}
		return string(plain), nil
	}
	return "", ErrOpen
}
