package bootstraptoken

import "testing"

// The vectors are k8s.io/cluster-bootstrap/token/jws's, so that signatures
// interoperate with kubeadm.
func TestComputeDetachedSignature(t *testing.T) {
	const (
		content = "Hello from the other side. I must have called a thousand times."
		secret  = "my voice is my passcode"
		id      = "joshua"
	)
	tests := []struct {
		name, content, secret, want string
	}{
		{"content", content, secret, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"},
		{"empty content", "", secret, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"},
		{"empty secret", content, "", "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ComputeDetachedSignature(tt.content, id, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("signature = %q, want %q", got, tt.want)
			}
			if !DetachedSignatureIsValid(tt.want, tt.content, id, tt.secret) {
				t.Errorf("valid signature rejected")
			}
			if DetachedSignatureIsValid(tt.want+"x", tt.content, id, tt.secret) {
				t.Errorf("altered signature accepted")
			}
			if DetachedSignatureIsValid(tt.want, tt.content+"x", id, tt.secret) {
				t.Errorf("signature of other content accepted")
			}
		})
	}
}
