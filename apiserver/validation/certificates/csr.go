package certificates

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-dev/skiff/apiserver/validation/metavalidation"
)

// LegacyUnknownSignerName is the signer v1beta1 defaulted to; v1 rejects it
// on new requests.
const LegacyUnknownSignerName = "kubernetes.io/legacy-unknown"

// minExpirationSeconds is the shortest certificate lifetime a request may ask for.
const minExpirationSeconds = 600

var (
	knownUsages = sets.New(
		certificatesv1.UsageSigning, certificatesv1.UsageDigitalSignature, certificatesv1.UsageContentCommitment,
		certificatesv1.UsageKeyEncipherment, certificatesv1.UsageKeyAgreement, certificatesv1.UsageDataEncipherment,
		certificatesv1.UsageCertSign, certificatesv1.UsageCRLSign, certificatesv1.UsageEncipherOnly,
		certificatesv1.UsageDecipherOnly, certificatesv1.UsageAny, certificatesv1.UsageServerAuth,
		certificatesv1.UsageClientAuth, certificatesv1.UsageCodeSigning, certificatesv1.UsageEmailProtection,
		certificatesv1.UsageSMIME, certificatesv1.UsageIPsecEndSystem, certificatesv1.UsageIPsecTunnel,
		certificatesv1.UsageIPsecUser, certificatesv1.UsageTimestamping, certificatesv1.UsageOCSPSigning,
		certificatesv1.UsageMicrosoftSGC, certificatesv1.UsageNetscapeSGC,
	)
	// terminalConditions may only have status True.
	terminalConditions = sets.New(certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed)
	trueOnly           = []string{string(corev1.ConditionTrue)}
	anyStatus          = []string{string(corev1.ConditionFalse), string(corev1.ConditionTrue), string(corev1.ConditionUnknown)}

	conditionsPath  = field.NewPath("status", "conditions")
	certificatePath = field.NewPath("status", "certificate")
)

// options says which writes a request may make and which flaws already
// present in the stored object it may keep, as upstream's
// certificateValidationOptions do.
type options struct {
	settingApproval    bool // the approval subresource: Approved/Denied may change
	settingCertificate bool // the status subresource: status.certificate may be set

	bothApprovedAndDenied bool
	legacySignerName      bool
	duplicateConditions   bool
	emptyConditionType    bool
	arbitraryCertificate  bool
	unknownUsages         bool
	duplicateUsages       bool
}

// optionsFor tolerates in csr what old (nil on create) already had.
func optionsFor(csr, old *certificatesv1.CertificateSigningRequest) options {
	if old == nil {
		return options{}
	}
	o := options{
		legacySignerName:    old.Spec.SignerName == LegacyUnknownSignerName,
		duplicateConditions: hasDuplicateConditionTypes(old),
		unknownUsages:       hasUnknownUsage(old.Spec.Usages),
		duplicateUsages:     hasDuplicateUsage(old.Spec.Usages),
		arbitraryCertificate: bytes.Equal(csr.Status.Certificate, old.Status.Certificate) ||
			validateCertificate(old.Status.Certificate) != nil,
	}
	approved, denied := false, false
	for _, c := range old.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case "":
			o.emptyConditionType = true
		}
	}
	o.bothApprovedAndDenied = approved && denied
	return o
}

// ValidateCertificateSigningRequest validates a new
// CertificateSigningRequest: a parseable, correctly signed PKCS#10 request,
// known distinct usages, a valid signer name, a lifetime of at least ten
// minutes, and well-formed conditions and certificate. Names are not
// checked (upstream accepts any name the generic rules allow).
func ValidateCertificateSigningRequest(csr *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return validateCSR(csr, options{})
}

// ValidateCertificateSigningRequestUpdate validates an update through the
// main resource: conditions of type Approved, Denied or Failed may not be
// removed, Approved and Denied may not be added or changed, and the
// certificate may not be set.
func ValidateCertificateSigningRequestUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	return validateCSRUpdate(csr, old, optionsFor(csr, old))
}

// ValidateCertificateSigningRequestStatusUpdate validates a write to the
// status subresource, which may also set the certificate once.
func ValidateCertificateSigningRequestStatusUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	o := optionsFor(csr, old)
	o.settingCertificate = true
	return validateCSRUpdate(csr, old, o)
}

// ValidateCertificateSigningRequestApprovalUpdate validates a write to the
// approval subresource, which may also add or change the Approved and
// Denied conditions.
func ValidateCertificateSigningRequestApprovalUpdate(csr, old *certificatesv1.CertificateSigningRequest) field.ErrorList {
	o := optionsFor(csr, old)
	o.settingApproval = true
	return validateCSRUpdate(csr, old, o)
}

func validateCSR(csr *certificatesv1.CertificateSigningRequest, o options) field.ErrorList {
	errs := metavalidation.ValidateObjectMeta(&csr.ObjectMeta, false, func(string, bool) []string { return nil })
	specPath := field.NewPath("spec")
	if _, err := ParseRequest(csr.Spec.Request); err != nil {
		errs = append(errs, field.Invalid(specPath.Child("request"), csr.Spec.Request, err.Error()))
	}
	usagesPath := specPath.Child("usages")
	if len(csr.Spec.Usages) == 0 {
		errs = append(errs, field.Required(usagesPath, ""))
	}
	if !o.unknownUsages {
		for i, u := range csr.Spec.Usages {
			if !knownUsages.Has(u) {
				errs = append(errs, field.NotSupported(usagesPath.Index(i), u, sortedUsages()))
			}
		}
	}
	if !o.duplicateUsages {
		seen := sets.New[certificatesv1.KeyUsage]()
		for i, u := range csr.Spec.Usages {
			if seen.Has(u) {
				errs = append(errs, field.Duplicate(usagesPath.Index(i), u))
			}
			seen.Insert(u)
		}
	}
	signerPath := specPath.Child("signerName")
	if !o.legacySignerName && csr.Spec.SignerName == LegacyUnknownSignerName {
		errs = append(errs, field.Invalid(signerPath, csr.Spec.SignerName, "the legacy signerName is not allowed via this API version"))
	} else {
		errs = append(errs, ValidateSignerName(signerPath, csr.Spec.SignerName)...)
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && *e < minExpirationSeconds {
		errs = append(errs, field.Invalid(specPath.Child("expirationSeconds"), *e, "may not specify a duration less than 600 seconds (10 minutes)"))
	}
	errs = append(errs, validateConditions(csr.Status.Conditions, o)...)
	if !o.arbitraryCertificate {
		if err := validateCertificate(csr.Status.Certificate); err != nil {
			errs = append(errs, field.Invalid(certificatePath, "<certificate data>", err.Error()))
		}
	}
	return errs
}

func validateConditions(conditions []certificatesv1.CertificateSigningRequestCondition, o options) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[certificatesv1.RequestConditionType]()
	approved, denied := false, false
	for i, c := range conditions {
		idxPath := conditionsPath.Index(i)
		if !o.emptyConditionType && c.Type == "" {
			errs = append(errs, field.Required(idxPath.Child("type"), ""))
		}
		allowed := anyStatus
		if terminalConditions.Has(c.Type) {
			allowed = trueOnly
		}
		switch {
		case c.Status == "":
			errs = append(errs, field.Required(idxPath.Child("status"), ""))
		case !sets.New(allowed...).Has(string(c.Status)):
			errs = append(errs, field.NotSupported(idxPath.Child("status"), c.Status, allowed))
		}
		if !o.bothApprovedAndDenied {
			switch c.Type {
			case certificatesv1.CertificateApproved:
				approved = true
				if denied {
					errs = append(errs, field.Invalid(conditionsPath, c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			case certificatesv1.CertificateDenied:
				denied = true
				if approved {
					errs = append(errs, field.Invalid(conditionsPath, c.Type, "Approved and Denied conditions are mutually exclusive"))
				}
			}
		}
		if !o.duplicateConditions {
			if seen.Has(c.Type) {
				errs = append(errs, field.Duplicate(idxPath.Child("type"), c.Type))
			}
			seen.Insert(c.Type)
		}
	}
	return errs
}

func validateCSRUpdate(csr, old *certificatesv1.CertificateSigningRequest, o options) field.ErrorList {
	errs := validateCSR(csr, o)
	for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		if len(conditionsOf(csr, t)) < len(conditionsOf(old, t)) {
			errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not remove a condition of type %q", t)))
		}
	}
	if !o.settingApproval {
		for _, t := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied} {
			have, had := conditionsOf(csr, t), conditionsOf(old, t)
			switch {
			case len(have) < len(had):
				// reported above
			case len(have) > len(had):
				errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not add a condition of type %q", t)))
			case !apiequality.Semantic.DeepEqual(had, have):
				errs = append(errs, field.Forbidden(conditionsPath, fmt.Sprintf("updates may not modify a condition of type %q\n%v", t, diff.Diff(had, have))))
			}
		}
	}
	if !bytes.Equal(csr.Status.Certificate, old.Status.Certificate) {
		switch {
		case !o.settingCertificate:
			errs = append(errs, field.Forbidden(certificatePath, "updates may not set certificate content"))
		case len(old.Status.Certificate) > 0:
			errs = append(errs, field.Forbidden(certificatePath, "updates may not modify existing certificate content"))
		}
	}
	return append(errs, metavalidation.ValidateObjectMetaUpdate(&csr.ObjectMeta, &old.ObjectMeta)...)
}

func conditionsOf(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) []certificatesv1.CertificateSigningRequestCondition {
	var out []certificatesv1.CertificateSigningRequestCondition
	for _, c := range csr.Status.Conditions {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

// ParseRequest decodes the first PEM block of a CSR's spec.request as a
// PKCS#10 certificate request and checks its signature.
func ParseRequest(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	if err := req.CheckSignature(); err != nil {
		return nil, err
	}
	return req, nil
}

// validateCertificate accepts an empty status.certificate or one made only
// of header-less CERTIFICATE PEM blocks that each parse.
func validateCertificate(pemData []byte) error {
	if len(pemData) == 0 {
		return nil
	}
	blocks := 0
	for {
		block, rest := pem.Decode(pemData)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("only CERTIFICATE PEM blocks are allowed, found %q", block.Type)
		}
		if len(block.Headers) != 0 {
			return errors.New("no PEM block headers are permitted")
		}
		blocks++
		certs, err := x509.ParseCertificates(block.Bytes)
		if err != nil {
			return err
		}
		if len(certs) == 0 {
			return errors.New("found CERTIFICATE PEM block containing 0 certificates")
		}
		pemData = rest
	}
	if blocks == 0 {
		return errors.New("must contain at least one CERTIFICATE PEM block")
	}
	return nil
}

func sortedUsages() []string {
	out := make([]string, 0, knownUsages.Len())
	for u := range knownUsages {
		out = append(out, string(u))
	}
	sort.Strings(out)
	return out
}

func hasDuplicateConditionTypes(csr *certificatesv1.CertificateSigningRequest) bool {
	seen := sets.New[certificatesv1.RequestConditionType]()
	for _, c := range csr.Status.Conditions {
		if seen.Has(c.Type) {
			return true
		}
		seen.Insert(c.Type)
	}
	return false
}

func hasUnknownUsage(usages []certificatesv1.KeyUsage) bool {
	for _, u := range usages {
		if !knownUsages.Has(u) {
			return true
		}
	}
	return false
}

func hasDuplicateUsage(usages []certificatesv1.KeyUsage) bool {
	return sets.New(usages...).Len() != len(usages)
}

// ValidateSignerName checks a signer name as upstream does: of the form
// "<domain>/<path>", the domain at most 253 characters of DNS labels with at
// least one dot, the path DNS subdomains separated by dots, and the whole at
// most 571 characters.
func ValidateSignerName(fldPath *field.Path, signerName string) field.ErrorList {
	if signerName == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	parts := strings.Split(signerName, "/")
	if len(parts) != 2 {
		return field.ErrorList{field.Invalid(fldPath, signerName, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	domain, path := parts[0], parts[1]
	var errs field.ErrorList
	if len(domain) > validation.DNS1123SubdomainMaxLength {
		errs = append(errs, field.TooLong(fldPath, "", validation.DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := validation.IsDNS1123Label(l); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, field.Invalid(fldPath, domain, fmt.Sprintf("validating label %q: %s", l, msg)))
			}
			break // the other labels would repeat the same complaint
		}
	}
	if len(labels) < 2 {
		errs = append(errs, field.Invalid(fldPath, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, l := range strings.Split(path, ".") {
		if msgs := validation.IsDNS1123Subdomain(l); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, field.Invalid(fldPath, path, fmt.Sprintf("validating label %q: %s", l, msg)))
			}
			break
		}
	}
	maxLen := validation.DNS1123SubdomainMaxLength + 1 + validation.DNS1123SubdomainMaxLength + validation.DNS1123LabelMaxLength + 1
	if len(signerName) > maxLen {
		errs = append(errs, field.TooLong(fldPath, "", maxLen))
	}
	return errs
}
