package e2e

import "testing"

// TestSlurm runs every test that drives a real Slurm, one after another:
// they share the suite's two nodes (and each cancels the jobs it left
// there when it ends), and two start Slurms of their own beside it. Together
// they are one parallel test, so that their waits on Slurm's scheduler
// overlap the rest of the suite instead of adding to it. One of them alone:
// go test -run 'TestSlurm/Native' ./e2e/
//
// It is in this file, the first of the package by name, so that it is the
// first parallel test go test registers, and so the first to start once
// the serial tests have run (go test starts the first registered, then the
// others from the last back): the longest chain of the suite (about 400 s,
// mostly Slurm's scheduler waiting) then runs beside everything else, where
// started late it ran its last subtests alone at the suite's end (141 s of
// a 21-minute run, bin/costs.txt's "ran alone").
func TestSlurm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		test func(*testing.T)
	}{
		{"RunAndMapAcrossNodes", slurmRunAndMapAcrossNodes},
		{"CancelTimeLimitAndPilotKilled", slurmCancelTimeLimitAndPilotKilled},
		{"BudgetGuardrailCancelsPilots", slurmBudgetGuardrailCancelsPilots},
		{"Native", slurmNative},
		{"PilotWaitingSaysWhy", slurmPilotWaitingSaysWhy},
		{"PilotTimeLimitRequeues", slurmPilotTimeLimitRequeues},
		{"PendingPilotsWithdrawn", slurmPendingPilotsWithdrawn},
		{"Pipe", slurmPipe},
		{"PilotsJoin", slurmPilotsJoin},
		{"FaceShapes", slurmFaceShapes},
		{"FaceDependencies", slurmFaceDependencies},
		{"FaceScancelEnded", slurmFaceScancelEnded},
		{"FaceSrunShapes", slurmFaceSrunShapes},
		{"FaceListings", slurmFaceListings},
		{"ElasticCloudNodes", slurmElasticCloudNodes},
		{"DeadControllerDoesNotStallServer", slurmDeadControllerDoesNotStallServer},
	} {
		t.Run(c.name, c.test)
	}
}
