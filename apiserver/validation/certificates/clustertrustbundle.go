package certificates

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// MaxTrustBundleSize is the largest spec.trustBundle upstream accepts, 1 MiB.
const MaxTrustBundleSize = 1 << 20

var (
	bundleSignerPath = field.NewPath("spec", "signerName")
	trustBundlePath  = field.NewPath("spec", "trustBundle")
)

// ValidateClusterTrustBundle validates a new ClusterTrustBundle as
// upstream does: a name prefixed "<signerName with / as :>:" when the bundle
// has a signer and free of ":" when it has none, a valid signer name if set,
// and a trust bundle of at least one distinct CA certificate in header-free
// PEM CERTIFICATE blocks.
func ValidateClusterTrustBundle(b *certificatesv1.ClusterTrustBundle) field.ErrorList {
	return validateClusterTrustBundle(b, true)
}

// ValidateClusterTrustBundleUpdate validates an update: the signer name is
// immutable, and the trust bundle is parsed again only if it changed (so a
// bundle stored under older parsing rules can still have its metadata
// edited).
func ValidateClusterTrustBundleUpdate(b, old *certificatesv1.ClusterTrustBundle) field.ErrorList {
	errs := validateClusterTrustBundle(b, b.Spec.TrustBundle != old.Spec.TrustBundle)
	errs = append(errs, metavalidation.ValidateObjectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta)...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(b.Spec.SignerName, old.Spec.SignerName, bundleSignerPath)...)
	return errs
}

func validateClusterTrustBundle(b *certificatesv1.ClusterTrustBundle, parseBundle bool) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&b.ObjectMeta, false, ValidateClusterTrustBundleName(b.Spec.SignerName))
	if b.Spec.SignerName != "" {
		errs = append(errs, ValidateSignerName(bundleSignerPath, b.Spec.SignerName)...)
	}
	if parseBundle {
		errs = append(errs, validateTrustBundle(trustBundlePath, b.Spec.TrustBundle)...)
	}
	return errs
}

// ValidateClusterTrustBundleName returns the name check of a bundle with
// the given signer name (upstream's core validation of the same name).
func ValidateClusterTrustBundleName(signerName string) apimachineryvalidation.ValidateNameFunc {
	return func(name string, prefix bool) []string {
		if signerName == "" {
			if strings.Contains(name, ":") {
				return []string{`ClusterTrustBundle without signer name must not have ":" in its name`}
			}
			return apimachineryvalidation.NameIsDNSSubdomain(name, prefix)
		}
		required := strings.ReplaceAll(signerName, "/", ":") + ":"
		if !strings.HasPrefix(name, required) {
			return []string{fmt.Sprintf("ClusterTrustBundle for signerName %s must be named with prefix %s", signerName, required)}
		}
		return apimachineryvalidation.NameIsDNSSubdomain(strings.TrimPrefix(name, required), prefix)
	}
}

// validateTrustBundle rejects bundles that are too large, blocks that are
// not CERTIFICATE, carry headers, do not parse as X.509 or are not CA
// certificates, and duplicate anchors; it requires at least one anchor.
// Data between blocks is ignored, as upstream's pem.Decode loop does.
func validateTrustBundle(path *field.Path, in string) field.ErrorList {
	if len(in) > MaxTrustBundleSize {
		return field.ErrorList{field.TooLong(path, "", MaxTrustBundleSize)}
	}
	var errs field.ErrorList
	const omitted = "<value omitted>"
	seen := map[string][]int{}
	rest := []byte(in)
	for i := 0; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("entry %d has bad block type: %v", i, b.Type)))
			continue
		}
		if len(b.Headers) != 0 {
			errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("entry %d has PEM block headers", i)))
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("entry %d does not parse as X.509", i)))
			continue
		}
		if !cert.IsCA {
			errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("entry %d does not have the CA bit set", i)))
			continue
		}
		if !cert.BasicConstraintsValid {
			errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("entry %d has invalid basic constraints", i)))
			continue
		}
		seen[string(b.Bytes)] = append(seen[string(b.Bytes)], i)
	}
	// A malformed block makes complaints about duplicates or missing
	// anchors redundant.
	if len(errs) != 0 {
		return errs
	}
	if len(seen) == 0 {
		return field.ErrorList{field.Invalid(path, omitted, "at least one trust anchor must be provided")}
	}
	var dups [][]int
	for _, at := range seen {
		if len(at) > 1 {
			dups = append(dups, at)
		}
	}
	sort.Slice(dups, func(i, j int) bool { return dups[i][0] < dups[j][0] })
	for _, at := range dups {
		errs = append(errs, field.Invalid(path, omitted, fmt.Sprintf("duplicate trust anchor (indices %v)", at)))
	}
	return errs
}
