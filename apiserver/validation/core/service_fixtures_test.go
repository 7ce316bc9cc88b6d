package core

import vt "github.com/skiff-dev/skiff/apiserver/validation/metavalidation/validationtest"

// The cluster kinds' fixtures: testdata/{valid,invalid}-{service,endpoints,
// node,persistentvolume,persistentvolumeclaim,resourcequota,limitrange}*.yaml.
func init() {
	fixtureValidators["Service"] = vt.Kind(ValidateService)
	fixtureValidators["Endpoints"] = vt.Kind(ValidateEndpoints)
	fixtureValidators["Node"] = vt.Kind(ValidateNode)
	fixtureValidators["PersistentVolume"] = vt.Kind(ValidatePersistentVolume)
	fixtureValidators["PersistentVolumeClaim"] = vt.Kind(ValidatePersistentVolumeClaim)
	fixtureValidators["ResourceQuota"] = vt.Kind(ValidateResourceQuota)
	fixtureValidators["LimitRange"] = vt.Kind(ValidateLimitRange)
}
