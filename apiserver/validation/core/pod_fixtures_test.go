package core

import vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"

func init() {
	fixtureValidators["Pod"] = vt.Kind(ValidatePod)
	fixtureValidators["PodTemplate"] = vt.Kind(ValidatePodTemplate)
	fixtureValidators["ReplicationController"] = vt.Kind(ValidateReplicationController)
}
