package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOpenSSLOAEP checks the RSA-OAEP of Encrypt (which test IdPs use, and
// which has its own code for a digest that differs from the MGF1 hash)
// against OpenSSL, an independent implementation, for every digest and MGF
// pair. The other direction, OpenSSL-made EncryptedKeys decrypted by
// Decrypt, is covered by the testdata/xmlenc fixtures at the repo root.
func TestOpenSSLOAEP(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		msg := "openssl is not installed, so RSA-OAEP was NOT checked against OpenSSL; install it with: apt-get install openssl"
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but " + msg)
		}
		t.Skip("!!!!! SKIPPED: " + msg + " !!!!!")
	}
	a, _ := testKeys(t)
	der, err := x509.MarshalPKCS8PrivateKey(a)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	names := map[crypto.Hash]string{crypto.SHA1: "sha1", crypto.SHA224: "sha224", crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512"}
	msg := []byte("0123456789abcdef0123456789abcdef")
	for _, digest := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, mgf := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
			for _, label := range [][]byte{nil, []byte("label")} {
				name := names[digest] + "-mgf1" + names[mgf]
				if label != nil {
					name += "-label"
				}
				t.Run(name, func(t *testing.T) {
					ct, err := encryptOAEP(&a.PublicKey, msg, digest, mgf, label)
					if err != nil {
						t.Fatal(err)
					}
					in := filepath.Join(dir, name+".bin")
					if err := os.WriteFile(in, ct, 0o600); err != nil {
						t.Fatal(err)
					}
					args := []string{"pkeyutl", "-decrypt", "-inkey", keyFile, "-in", in,
						"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:" + names[digest], "-pkeyopt", "rsa_mgf1_md:" + names[mgf]}
					if label != nil {
						args = append(args, "-pkeyopt", "rsa_oaep_label:"+hex.EncodeToString(label))
					}
					var stderr bytes.Buffer
					cmd := exec.Command(openssl, args...)
					cmd.Stderr = &stderr
					out, err := cmd.Output()
					if err != nil {
						t.Fatalf("openssl: %v\n%s", err, stderr.String())
					}
					if !bytes.Equal(out, msg) {
						t.Fatalf("openssl decrypted %x", out)
					}
				})
			}
		}
	}
}
