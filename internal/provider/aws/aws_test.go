package aws

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/provider"
)

// fakeAgent is the "binary" the test server hands out: a script that
// records its arguments, its environment's BURST_HOME and the join file's
// mode and content, as burst agent would read them.
const fakeAgent = `#!/bin/sh
out=$(dirname "$0")/ran
{
	echo "args: $*"
	echo "home: $BURST_HOME"
	join=""
	while [ $# -gt 0 ]; do
		if [ "$1" = --join-file ]; then join=$2; fi
		shift
	done
	echo "join: $(cat "$join")"
	echo "mode: $(stat -c %a "$join")"
} >"$out.tmp"
mv "$out.tmp" "$out"
`

// distServer serves body at /v1/dist/burst?arch=amd64 over TLS, as a burst
// server does, and returns its URL and CA.
func distServer(t *testing.T, body []byte) (string, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/dist/burst" || r.URL.Query().Get("arch") != "amd64" {
			http.Error(w, "no", 404)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv.URL, string(ca)
}

// selfSigned is the PEM of a CA that signed no server here.
func selfSigned(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func sum(b []byte) string {
	d := sha256.Sum256(b)
	return hex.EncodeToString(d[:])
}

func boot(server, ca, sha string) Boot {
	return Boot{Machine: "gpu-1", Server: server, CAPEM: ca, Arch: "amd64", SHA256: sha,
		JoinURL: "https://10.0.0.1:8443/v1/join/bjt_secret#sha256:abc", HomeID: "home-1"}
}

// runUserData runs script under sh with a fake HOME and returns that HOME,
// the script's combined output and its error.
func runUserData(t *testing.T, script string) (string, string, error) {
	t.Helper()
	home := t.TempDir()
	f := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(f, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", f)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "BURST_AGENT_LOG=" + filepath.Join(home, "agent.log")}
	out, err := cmd.CombinedOutput()
	return home, string(out), err
}

// The user-data is valid sh, in every variant.
func TestUserDataSyntax(t *testing.T) {
	for _, spot := range []bool{false, true} {
		b := boot("https://h:1", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", strings.Repeat("a", 64))
		b.Spot = spot
		f := filepath.Join(t.TempDir(), "ud")
		os.WriteFile(f, []byte(UserData(b)), 0o600)
		if out, err := exec.Command("sh", "-n", f).CombinedOutput(); err != nil {
			t.Fatalf("sh -n (spot %v): %v\n%s", spot, err, out)
		}
		if got := strings.Contains(UserData(b), "--spot-notice aws"); got != spot {
			t.Errorf("spot %v: --spot-notice aws in the script: %v", spot, got)
		}
	}
}

// The user-data fetches the binary over TLS trusting only the CA it holds,
// checks its sha256, writes the join URL 0600 and starts the agent with it.
func TestUserDataJoins(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to run the user-data: %v", err)
	}
	url, ca := distServer(t, []byte(fakeAgent))
	b := boot(url, ca, sum([]byte(fakeAgent)))
	home, out, err := runUserData(t, UserData(b))
	if err != nil {
		t.Fatalf("user-data failed: %v\n%s", err, out)
	}
	ran := filepath.Join(home, ".burst-machine", "ran")
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if got, err = os.ReadFile(ran); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("the agent did not run: %v\n%s", err, out)
	}
	dir := filepath.Join(home, ".burst-machine")
	for _, want := range []string{
		"args: agent --join-file " + dir + "/join --join-state " + dir + "/joined.json --machine gpu-1\n",
		"home: " + dir + "/home\n",
		"join: " + b.JoinURL + "\n",
		"mode: 600\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the agent saw\n%s\nwant the line %q", got, want)
		}
	}
}

// A binary whose sha256 is not the one in the script is refused: no binary
// kept, no agent started, and the message says why.
func TestUserDataRefusesWrongChecksum(t *testing.T) {
	url, ca := distServer(t, []byte(fakeAgent))
	home, out, err := runUserData(t, UserData(boot(url, ca, strings.Repeat("0", 64))))
	if err == nil {
		t.Fatalf("user-data with a wrong checksum succeeded:\n%s", out)
	}
	if !strings.Contains(out, "not "+strings.Repeat("0", 64)+": refused") {
		t.Errorf("message %q does not say the checksum was refused", out)
	}
	for _, f := range []string{"burst", "burst.new", "join", "ran"} {
		if _, err := os.Stat(filepath.Join(home, ".burst-machine", f)); err == nil {
			t.Errorf("%s exists after a refused binary", f)
		}
	}
}

// A server whose certificate is not signed by the CA in the script is not
// trusted: the fetch fails (after its tries) and nothing runs.
func TestUserDataRefusesOtherCA(t *testing.T) {
	url, _ := distServer(t, []byte(fakeAgent))
	otherCA := selfSigned(t)
	script := strings.Replace(UserData(boot(url, otherCA, sum([]byte(fakeAgent)))), "-ge 30", "-ge 1", 1)
	home, out, err := runUserData(t, script)
	if err == nil || !strings.Contains(out, "cannot fetch") {
		t.Fatalf("user-data trusted a server of another CA: err %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(home, ".burst-machine", "burst")); err == nil {
		t.Error("a binary was kept")
	}
}

// RunInstances asks for what the contract says: one instance, tags on the
// instance and its volumes, spot options, subnet, groups, user-data, and a
// client token per start that retries share.
func TestRunInput(t *testing.T) {
	sp := provider.Spec{ID: "gpu-3", Cluster: "gpu", Project: "mars", Type: "g5.xlarge", Spot: true,
		Res: burst.Resources{CPUs: 4}, Options: map[string]string{OptSubnet: "subnet-1", OptSecurityGroup: "sg-1, sg-2"}}
	in := runInput(sp, "ami-1", "#!/bin/sh\n", "home-1", "https://x/v1/join/t1", false)
	if *in.ImageId != "ami-1" || in.InstanceType != "g5.xlarge" || *in.MinCount != 1 || *in.MaxCount != 1 {
		t.Errorf("image/type/count: %v %v %v %v", *in.ImageId, in.InstanceType, *in.MinCount, *in.MaxCount)
	}
	if *in.SubnetId != "subnet-1" || strings.Join(in.SecurityGroupIds, ",") != "sg-1,sg-2" {
		t.Errorf("subnet %v groups %v", *in.SubnetId, in.SecurityGroupIds)
	}
	if ud, _ := base64.StdEncoding.DecodeString(*in.UserData); string(ud) != "#!/bin/sh\n" {
		t.Errorf("user-data %q", ud)
	}
	mo := in.InstanceMarketOptions
	if mo == nil || mo.MarketType != types.MarketTypeSpot || mo.SpotOptions.SpotInstanceType != types.SpotInstanceTypeOneTime ||
		mo.SpotOptions.InstanceInterruptionBehavior != types.InstanceInterruptionBehaviorTerminate {
		t.Errorf("market options %+v", mo)
	}
	if len(in.TagSpecifications) != 2 || in.TagSpecifications[0].ResourceType != types.ResourceTypeInstance || in.TagSpecifications[1].ResourceType != types.ResourceTypeVolume {
		t.Fatalf("tag specifications %+v", in.TagSpecifications)
	}
	tags := map[string]string{}
	for _, tg := range in.TagSpecifications[0].Tags {
		tags[*tg.Key] = *tg.Value
	}
	want := map[string]string{TagServer: "home-1", TagCluster: "gpu", TagProject: "mars", TagMachine: "gpu-3", "Name": "burst gpu/gpu-3"}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("tags %v, want %v", tags, want)
	}
	again := runInput(sp, "ami-1", "#!/bin/sh\n", "home-1", "https://x/v1/join/t1", false)
	other := runInput(sp, "ami-1", "#!/bin/sh\n", "home-1", "https://x/v1/join/t2", false)
	if *in.ClientToken != *again.ClientToken || *in.ClientToken == *other.ClientToken || !strings.HasPrefix(*in.ClientToken, "gpu-3-") || len(*in.ClientToken) > 64 {
		t.Errorf("client tokens %q %q %q: one per start, shared by its retries, named after the machine, at most 64", *in.ClientToken, *again.ClientToken, *other.ClientToken)
	}
	if long := clientToken(strings.Repeat("m", 64), "u"); len(long) != 64 {
		t.Errorf("token of a long name: %d characters", len(long))
	}
	sp.Spot = false
	od := runInput(sp, "ami-1", "", "home-1", "", true)
	if od.InstanceMarketOptions != nil || !sdkaws.ToBool(od.DryRun) || od.UserData != nil || od.ClientToken != nil {
		t.Errorf("on-demand dry run: market %v dry %v", od.InstanceMarketOptions, od.DryRun)
	}
}

// EC2's error codes become one line each that names the fix.
func TestErrorMapping(t *testing.T) {
	sp := provider.Spec{Type: "m5.large", Spot: true, Options: map[string]string{OptSubnet: "subnet-9", OptImage: "ami-9"}}
	api := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for _, c := range []struct {
		err   error
		start bool
		want  []string
	}{
		{api("InsufficientInstanceCapacity"), true, []string{"no spot capacity", "m5.large", "eu-west-2", "another --type"}},
		{api("MaxSpotInstanceCountExceeded"), true, []string{"spot instance limit", "lower --max"}},
		{api("SpotMaxPriceTooLow"), true, []string{"drop --spot"}},
		{api("VcpuLimitExceeded"), true, []string{"L-34B43A08", "request-service-quota-increase"}},
		{api("UnauthorizedOperation"), false, []string{"docs/aws.md", "policy"}},
		{api("AuthFailure"), false, []string{"AWS_ACCESS_KEY_ID"}},
		{api("InvalidAMIID.NotFound"), false, []string{"ami-9", "--image"}},
		{api("InvalidSubnetID.NotFound"), false, []string{"subnet-9", "--subnet"}},
		{errors.New("dial tcp: connection refused"), false, []string{"cannot reach EC2", "AWS_ENDPOINT_URL_EC2"}},
		// What the SDK says when it finds no credentials at all (a newcomer's
		// first try): not the network's fault.
		{errors.New("operation error EC2: DescribeRegions, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled, context deadline exceeded"),
			false, []string{"no AWS credentials", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "docs/aws.md"}},
	} {
		var err error
		if c.start {
			err = startError(c.err, sp, "eu-west-2")
		} else {
			err = checkError(c.err, sp, "eu-west-2")
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", c.err, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %q is more than one line", c.err, err)
		}
	}
}

// The quota code follows the type's family and market.
func TestQuotaCode(t *testing.T) {
	for typ, want := range map[[2]string]string{
		{"m5.large", ""}: "L-1216C47A", {"m5.large", "spot"}: "L-34B43A08",
		{"g5.xlarge", ""}: "L-DB2E81BA", {"g5.xlarge", "spot"}: "L-3819A6DF", {"p3.2xlarge", ""}: "L-417A185B",
	} {
		if got := quotaCode(typ[0], typ[1] != ""); got != want {
			t.Errorf("quotaCode(%s, spot %v) = %s, want %s", typ[0], typ[1] != "", got, want)
		}
	}
}

// Spot prices: per type, the newest price of each zone, then the cheapest
// zone's.
func TestCheapest(t *testing.T) {
	at := func(m int) *time.Time { x := time.Date(2026, 12, 4, 5, m, 0, 0, time.UTC); return &x }
	sp := func(typ, zone, price string, m int) types.SpotPrice {
		return types.SpotPrice{InstanceType: types.InstanceType(typ), AvailabilityZone: sdkaws.String(zone), SpotPrice: sdkaws.String(price), Timestamp: at(m)}
	}
	got := cheapest([]types.SpotPrice{
		sp("m5.large", "a", "0.030", 1), sp("m5.large", "a", "0.050", 9), // a's newest: 0.050
		sp("m5.large", "b", "0.040", 2),
		sp("g5.xlarge", "c", "0.50", 3), sp("g5.xlarge", "b", "bad", 4),
	}, "src")
	want := "[{g5.xlarge 0.5 c 2026-12-04 05:03:00 +0000 UTC src} {m5.large 0.04 b 2026-12-04 05:02:00 +0000 UTC src}]"
	if fmt.Sprint(got) != want {
		t.Errorf("cheapest = %v\nwant %s", got, want)
	}
}

// Options of the aws provider are refused by the others, naming it; an
// unknown option is refused by aws, naming those it takes.
func TestOptionsRefused(t *testing.T) {
	err := provider.RefuseOptions("local", map[string]string{OptRegion: "eu-west-2"})
	if err == nil || !strings.Contains(err.Error(), "--region is an option of the aws provider") || !strings.Contains(err.Error(), "--provider aws") {
		t.Errorf("local given --region: %v", err)
	}
	err = provider.RefuseOptions("aws", map[string]string{"zone": "x", OptRegion: "r"}, options...)
	if err == nil || !strings.Contains(err.Error(), "--opt zone") || !strings.Contains(err.Error(), "region, subnet, security-group, image") {
		t.Errorf("aws given --opt zone: %v", err)
	}
	if err := provider.RefuseOptions("aws", map[string]string{OptRegion: "r", OptImage: "i"}, options...); err != nil {
		t.Errorf("aws given its own options: %v", err)
	}
}
