package xmlenc

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"   // OAEP digests and MGF1 hashes
	_ "crypto/sha256" // (SHA-224, SHA-256)
	_ "crypto/sha512" // (SHA-384, SHA-512)
)

// Sizes fixed by XML Encryption: the IV precedes the ciphertext in the
// CipherValue, the GCM tag follows it.
const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// unwrap decrypts the content key with k. Go's RSA-OAEP check runs in
// constant time and fails with one error whatever went wrong (Manger's
// attack).
func (ek *encryptedKey) unwrap(k crypto.Decrypter) ([]byte, error) {
	if _, ok := k.Public().(*rsa.PublicKey); !ok {
		return nil, fail("only RSA keys decrypt")
	}
	return k.Decrypt(rand.Reader, ek.ciphertext, &rsa.OAEPOptions{Hash: ek.digest, MGFHash: ek.mgf, Label: ek.label})
}

// decryptGCM opens IV || ciphertext || tag.
func decryptGCM(key, data []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errContent
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errContent
	}
	if len(data) < gcmIVSize+gcmTagSize {
		return nil, errContent
	}
	pt, err := aead.Open(nil, data[:gcmIVSize], data[gcmIVSize:], nil)
	if err != nil {
		return nil, errContent
	}
	return pt, nil
}

// decryptCBC decrypts IV || ciphertext and removes ISO 10126 padding: the
// last byte is the pad length (1 to 16), the other pad bytes are arbitrary.
// Every failure is the same error. CBC is not authenticated: callers must
// not tell a client more about a failure after this than about this one.
func decryptCBC(key, data []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errContent
	}
	bs := block.BlockSize()
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, errContent
	}
	pt := make([]byte, len(data)-bs)
	cipher.NewCBCDecrypter(block, data[:bs]).CryptBlocks(pt, data[bs:])
	n := int(pt[len(pt)-1])
	if n == 0 || n > bs {
		return nil, errContent
	}
	return pt[:len(pt)-n], nil
}

// encryptGCM returns IV || ciphertext || tag under a random IV.
func encryptGCM(key, pt []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, gcmIVSize, gcmIVSize+len(pt)+gcmTagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out[:gcmIVSize], pt, nil), nil
}

// encryptCBC returns IV || ciphertext with ISO 10126 padding (random pad
// bytes, the last one the pad length) under a random IV.
func encryptCBC(key, pt []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	n := bs - len(pt)%bs
	padded := make([]byte, len(pt)+n)
	copy(padded, pt)
	if _, err := rand.Read(padded[len(pt):]); err != nil {
		return nil, err
	}
	padded[len(padded)-1] = byte(n)
	out := make([]byte, bs+len(padded))
	if _, err := rand.Read(out[:bs]); err != nil {
		return nil, err
	}
	cipher.NewCBCEncrypter(block, out[:bs]).CryptBlocks(out[bs:], padded)
	return out, nil
}
