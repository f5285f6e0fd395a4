package ec2standin

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The EC2 actions the stand-in implements.
var ec2Actions = map[string]func(*Server, *call) (any, *apiError){
	"RunInstances":                  (*Server).runInstances,
	"DescribeInstances":             (*Server).describeInstances,
	"TerminateInstances":            (*Server).terminateInstances,
	"DescribeSpotPriceHistory":      (*Server).describeSpotPriceHistory,
	"DescribeInstanceTypeOfferings": (*Server).describeInstanceTypeOfferings,
	"DescribeInstanceTypes":         (*Server).describeInstanceTypes,
	"DescribeRegions":               (*Server).describeRegions,
	"DescribeImages":                (*Server).describeImages,
}

func actionNames() []string {
	var out []string
	for k := range ec2Actions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ec2Time is how EC2 writes a time.
func ec2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func dryRun(c *call) *apiError {
	if boolParam(c.form, "DryRun") {
		return errf("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return nil
}

// The XML of instances.

type xState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xGroup struct {
	ID   string `xml:"groupId"`
	Name string `xml:"groupName"`
}

type xInstance struct {
	ID             string `xml:"instanceId"`
	Image          string `xml:"imageId"`
	State          xState `xml:"instanceState"`
	PrivateDNSName string `xml:"privateDnsName"`
	DNSName        string `xml:"dnsName"`
	Reason         string `xml:"reason"`
	LaunchIndex    int    `xml:"amiLaunchIndex"`
	Type           string `xml:"instanceType"`
	LaunchTime     string `xml:"launchTime"`
	Placement      struct {
		Zone    string `xml:"availabilityZone"`
		Tenancy string `xml:"tenancy"`
	} `xml:"placement"`
	Subnet      string   `xml:"subnetId,omitempty"`
	VPC         string   `xml:"vpcId,omitempty"`
	PrivateIP   string   `xml:"privateIpAddress,omitempty"`
	Groups      []xGroup `xml:"groupSet>item"`
	StateReason *struct {
		Code    string `xml:"code"`
		Message string `xml:"message"`
	} `xml:"stateReason,omitempty"`
	Arch          string `xml:"architecture"`
	RootDevice    string `xml:"rootDeviceType"`
	ClientToken   string `xml:"clientToken,omitempty"`
	Tags          []xTag `xml:"tagSet>item"`
	Lifecycle     string `xml:"instanceLifecycle,omitempty"`
	SpotRequestID string `xml:"spotInstanceRequestId,omitempty"`
	Hypervisor    string `xml:"hypervisor"`
}

func xmlInstance(in *instance, idx int) xInstance {
	x := xInstance{
		ID: in.ID, Image: in.Image, State: xState{stateCodes[in.State], in.State},
		LaunchIndex: idx, Type: in.Type, LaunchTime: ec2Time(in.Launched),
		Subnet: in.Subnet, VPC: "vpc-0standin00000000", Arch: in.Arch, RootDevice: "ebs",
		ClientToken: in.ClientToken, Hypervisor: "xen",
	}
	x.Placement.Zone, x.Placement.Tenancy = in.Zone, "default"
	if in.State != stateTerminated {
		x.PrivateIP = in.PrivateIP
		x.PrivateDNSName = "ip-" + strings.ReplaceAll(in.PrivateIP, ".", "-") + "." + in.Region + ".compute.internal"
	}
	for _, g := range in.Groups {
		x.Groups = append(x.Groups, xGroup{g, g})
	}
	for _, t := range in.Tags {
		x.Tags = append(x.Tags, xTag{t.Key, t.Value})
	}
	if in.ReasonCode != "" {
		x.StateReason = &struct {
			Code    string `xml:"code"`
			Message string `xml:"message"`
		}{in.ReasonCode, in.ReasonMsg}
		x.Reason = in.ReasonMsg
	}
	if in.Spot {
		x.Lifecycle = "spot"
		x.SpotRequestID = "sir-" + in.ID[2:10]
	}
	return x
}

type xReservation struct {
	ID        string      `xml:"reservationId"`
	Owner     string      `xml:"ownerId"`
	Groups    []xGroup    `xml:"groupSet>item"`
	Instances []xInstance `xml:"instancesSet>item"`
}

// RunInstances

type runRequest struct {
	image, typ, subnet, token, zone string
	groups                          []string
	tags                            []Tag
	count                           int
	spot                            bool
	maxPrice                        string
	userData                        []byte
}

func (s *Server) parseRun(c *call) (runRequest, *apiError) {
	f := c.form
	r := runRequest{image: f.Get("ImageId"), typ: f.Get("InstanceType"), subnet: f.Get("SubnetId"), token: f.Get("ClientToken")}
	if r.image == "" {
		return r, errf("MissingParameter", "The request must contain the parameter ImageId")
	}
	if r.typ == "" {
		r.typ = "m1.small"
	}
	minN, _ := strconv.Atoi(f.Get("MinCount"))
	maxN, _ := strconv.Atoi(f.Get("MaxCount"))
	if minN < 1 || maxN < minN {
		return r, errf("InvalidParameterValue", "MinCount (%s) and MaxCount (%s) must be at least 1, MinCount <= MaxCount", f.Get("MinCount"), f.Get("MaxCount"))
	}
	r.count = maxN
	im, ok := s.cfg.image(r.image)
	if !ok {
		return r, errf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", r.image)
	}
	t, ok := s.cfg.typeInfo(r.typ)
	if !ok {
		return r, errf("InvalidParameterValue", "Invalid value '%s' for InstanceType.", r.typ)
	}
	if t.Arch != im.Arch {
		return r, errf("InvalidParameterValue", "The architecture '%s' of the specified instance type does not match the architecture '%s' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.", t.Arch, im.Arch)
	}
	r.zone = c.region + "a"
	if z := f.Get("Placement.AvailabilityZone"); z != "" {
		r.zone = z
	}
	if r.subnet != "" {
		found := false
		for _, sn := range s.cfg.Subnets {
			if sn.ID == r.subnet && strings.HasPrefix(sn.Zone, c.region) {
				found, r.zone = true, sn.Zone
			}
		}
		if !found {
			return r, errf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", r.subnet)
		}
	} else {
		for _, sn := range s.cfg.Subnets {
			if sn.Zone == r.zone {
				r.subnet = sn.ID
				break
			}
		}
	}
	r.groups = list(f, "SecurityGroupId")
	for _, g := range r.groups {
		if len(s.cfg.Groups) > 0 && !slices.Contains(s.cfg.Groups, g) || !strings.HasPrefix(g, "sg-") {
			return r, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
	}
	for i := 1; ; i++ {
		p := "TagSpecification." + strconv.Itoa(i)
		rt, ok := f[p+".ResourceType"]
		if !ok {
			break
		}
		if rt[0] != "instance" {
			continue // volume tags are accepted and kept nowhere: the stand-in has no volumes
		}
		for j := 1; ; j++ {
			q := p + ".Tag." + strconv.Itoa(j)
			k, ok := f[q+".Key"]
			if !ok {
				break
			}
			if strings.HasPrefix(k[0], "aws:") {
				return r, errf("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
			}
			r.tags = append(r.tags, Tag{k[0], f.Get(q + ".Value")})
		}
	}
	if ud := f.Get("UserData"); ud != "" {
		b, err := base64.StdEncoding.DecodeString(ud)
		if err != nil {
			return r, errf("InvalidParameterValue", "Invalid BASE64 encoding of user data.")
		}
		if len(b) > 16384 {
			return r, errf("InvalidParameterValue", "User data is limited to 16384 bytes")
		}
		r.userData = b
	}
	switch mt := f.Get("InstanceMarketOptions.MarketType"); mt {
	case "":
	case "spot":
		r.spot = true
		r.maxPrice = f.Get("InstanceMarketOptions.SpotOptions.MaxPrice")
		if it := f.Get("InstanceMarketOptions.SpotOptions.SpotInstanceType"); it != "" && it != "one-time" {
			return r, errf("InvalidParameterValue", "the stand-in launches one-time spot instances only, not %s", it)
		}
		if ib := f.Get("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"); ib != "" && ib != "terminate" {
			return r, errf("InvalidParameterValue", "the stand-in interrupts by terminating only, not %s", ib)
		}
	default:
		return r, errf("InvalidParameterValue", "Invalid value '%s' for MarketType", mt)
	}
	return r, nil
}

// quotaCode is the vCPU quota a type's instances count against.
func quotaCode(typ string, spot bool) string {
	fam := strings.ToLower(typ[:1])
	switch {
	case fam == "g" || strings.HasPrefix(typ, "vt"):
		return map[bool]string{false: "L-DB2E81BA", true: "L-3819A6DF"}[spot]
	case fam == "p":
		return map[bool]string{false: "L-417A185B", true: "L-7212CCBC"}[spot]
	}
	return map[bool]string{false: QuotaOnDemandStandard, true: QuotaSpotStandard}[spot]
}

// checkCapacityLocked refuses a launch past the vCPU quota or below the
// spot price.
func (s *Server) checkCapacityLocked(r runRequest, region string) *apiError {
	t, _ := s.cfg.typeInfo(r.typ)
	code := quotaCode(r.typ, r.spot)
	if limit, ok := s.cfg.Quotas[code]; ok {
		used := 0
		for _, in := range s.instances {
			if in.Region == region && in.State != stateTerminated && quotaCode(in.Type, in.Spot) == code {
				it, _ := s.cfg.typeInfo(in.Type)
				used += it.VCPUs
			}
		}
		if float64(used+r.count*t.VCPUs) > limit {
			if r.spot {
				return errf("MaxSpotInstanceCountExceeded", "Max spot instance count exceeded (%d vCPUs in use, quota %s is %g)", used, code, limit)
			}
			return errf("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of %g allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.", limit)
		}
	}
	if r.spot && r.maxPrice != "" {
		max, err := strconv.ParseFloat(r.maxPrice, 64)
		if err != nil {
			return errf("InvalidParameterValue", "Invalid value '%s' for MaxPrice", r.maxPrice)
		}
		if cur, ok := s.currentSpot(r.typ, r.zone); ok && max < cur {
			return errf("SpotMaxPriceTooLow", "Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of %g.", r.maxPrice, cur)
		}
	}
	return nil
}

// currentSpot is the latest spot price of typ in zone.
func (s *Server) currentSpot(typ, zone string) (float64, bool) {
	var best SpotPrice
	for _, p := range s.cfg.SpotPrices {
		if p.Type == typ && p.Zone == zone && !p.Time.Before(best.Time) {
			best = p
		}
	}
	if best.Type == "" {
		return 0, false
	}
	v, _ := strconv.ParseFloat(best.Price, 64)
	return v, true
}

type xRunInstancesResponse struct {
	XMLName xml.Name `xml:"RunInstancesResponse"`
	NS      string   `xml:"xmlns,attr"`
	Request string   `xml:"requestId"`
	xReservation
}

func (s *Server) reservationLocked(rid string) xReservation {
	x := xReservation{ID: rid, Owner: s.cfg.Account}
	for _, in := range s.instances {
		if in.Reservation == rid {
			x.Instances = append(x.Instances, xmlInstance(in, len(x.Instances)))
		}
	}
	return x
}

func (s *Server) runInstances(c *call) (any, *apiError) {
	r, err := s.parseRun(c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if r.token != "" && !boolParam(c.form, "DryRun") {
		for _, in := range s.instances {
			if in.ClientToken == r.token && in.Region == c.region {
				x := s.reservationLocked(in.Reservation)
				s.mu.Unlock()
				return xRunInstancesResponse{NS: ec2NS, Request: requestID(), xReservation: x}, nil
			}
		}
	}
	err = s.checkCapacityLocked(r, c.region)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := dryRun(c); err != nil {
		return nil, err
	}
	type claim struct {
		slot int
		addr string
	}
	var claims []claim
	for range r.count {
		slot, addr, ok := s.machines.Claim()
		if !ok {
			break
		}
		claims = append(claims, claim{slot, addr})
	}
	minN, _ := strconv.Atoi(c.form.Get("MinCount"))
	if len(claims) < minN {
		for _, cl := range claims {
			s.machines.Release(cl.slot)
		}
		return nil, errf("InsufficientInstanceCapacity", "We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity. (The stand-in has no free host for it.)", r.typ, r.zone)
	}
	t, _ := s.cfg.typeInfo(r.typ)
	rid := newID("r")
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cl := range claims {
		in := &instance{
			ID: newID("i"), Region: c.region, Zone: r.zone, Type: r.typ, Image: r.image, Arch: t.Arch,
			Subnet: r.subnet, Groups: r.groups, Tags: r.tags, ClientToken: r.token, Reservation: rid,
			Spot: r.spot, Launched: now, PrivateIP: cl.addr, Slot: cl.slot, UserData: r.userData,
			State: statePending, stop: make(chan struct{}), ended: make(chan struct{}),
		}
		in.LogPath = s.logPath(in.ID)
		s.instances = append(s.instances, in)
		b := BootInfo{ID: in.ID, Type: in.Type, Zone: in.Zone, Region: in.Region, IP: in.PrivateIP, Image: in.Image, UserData: in.UserData}
		s.wg.Add(1)
		go s.life(in, b)
		s.log.Info("ec2-standin (test double): RunInstances", "instance", in.ID, "type", in.Type, "spot", in.Spot, "slot", in.Slot)
	}
	return xRunInstancesResponse{NS: ec2NS, Request: requestID(), xReservation: s.reservationLocked(rid)}, nil
}

// DescribeInstances

func instanceFilter(in *instance) func(string) ([]string, bool) {
	return func(name string) ([]string, bool) {
		if k, ok := strings.CutPrefix(name, "tag:"); ok {
			for _, t := range in.Tags {
				if t.Key == k {
					return []string{t.Value}, true
				}
			}
			return nil, true
		}
		switch name {
		case "instance-id":
			return []string{in.ID}, true
		case "instance-state-name":
			return []string{in.State}, true
		case "instance-state-code":
			return []string{strconv.Itoa(stateCodes[in.State])}, true
		case "instance-type":
			return []string{in.Type}, true
		case "image-id":
			return []string{in.Image}, true
		case "availability-zone":
			return []string{in.Zone}, true
		case "subnet-id":
			return []string{in.Subnet}, true
		case "client-token":
			return []string{in.ClientToken}, true
		case "private-ip-address":
			return []string{in.PrivateIP}, true
		case "reservation-id":
			return []string{in.Reservation}, true
		case "instance-lifecycle":
			if in.Spot {
				return []string{"spot"}, true
			}
			return nil, true
		case "tag-key", "tag-value":
			var out []string
			for _, t := range in.Tags {
				out = append(out, map[bool]string{true: t.Key, false: t.Value}[name == "tag-key"])
			}
			return out, true
		}
		return nil, false
	}
}

type xDescribeInstancesResponse struct {
	XMLName      xml.Name       `xml:"DescribeInstancesResponse"`
	NS           string         `xml:"xmlns,attr"`
	Request      string         `xml:"requestId"`
	Reservations []xReservation `xml:"reservationSet>item"`
	NextToken    string         `xml:"nextToken,omitempty"`
}

func (s *Server) describeInstances(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	ids := list(c.form, "InstanceId")
	fs := filters(c.form)
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for _, id := range ids {
		if in := s.findLocked(id); in == nil || in.Region != c.region {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(missing)
	}
	var hits []*instance
	for _, in := range s.instances {
		if in.Region != c.region || len(ids) > 0 && !slices.Contains(ids, in.ID) {
			continue
		}
		ok, err := matchFilters(fs, instanceFilter(in))
		if err != nil {
			return nil, err
		}
		if ok {
			hits = append(hits, in)
		}
	}
	hits, next, err := page(hits, c.form, 1000)
	if err != nil {
		return nil, err
	}
	out := xDescribeInstancesResponse{NS: ec2NS, Request: requestID(), NextToken: next}
	for _, in := range hits {
		n := len(out.Reservations)
		if n == 0 || out.Reservations[n-1].ID != in.Reservation {
			out.Reservations = append(out.Reservations, xReservation{ID: in.Reservation, Owner: s.cfg.Account})
			n++
		}
		r := &out.Reservations[n-1]
		r.Instances = append(r.Instances, xmlInstance(in, len(r.Instances)))
	}
	return out, nil
}

func notFound(ids []string) *apiError {
	if len(ids) == 1 {
		return errf("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", ids[0])
	}
	return errf("InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(ids, ", "))
}

// TerminateInstances

type xStateChange struct {
	ID       string `xml:"instanceId"`
	Current  xState `xml:"currentState"`
	Previous xState `xml:"previousState"`
}

type xTerminateInstancesResponse struct {
	XMLName   xml.Name       `xml:"TerminateInstancesResponse"`
	NS        string         `xml:"xmlns,attr"`
	Request   string         `xml:"requestId"`
	Instances []xStateChange `xml:"instancesSet>item"`
}

func (s *Server) terminateInstances(c *call) (any, *apiError) {
	ids := list(c.form, "InstanceId")
	if len(ids) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter InstanceId")
	}
	if len(ids) > 1000 {
		return nil, errf("InvalidParameterValue", "at most 1000 instance ids in one call, got %d", len(ids))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for _, id := range ids {
		if in := s.findLocked(id); in == nil || in.Region != c.region {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(missing)
	}
	if err := dryRun(c); err != nil {
		return nil, err
	}
	out := xTerminateInstancesResponse{NS: ec2NS, Request: requestID()}
	for _, id := range ids {
		in := s.findLocked(id)
		prev := in.State
		s.stopLocked(in, "Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown")
		out.Instances = append(out.Instances, xStateChange{ID: id, Current: xState{stateCodes[in.State], in.State}, Previous: xState{stateCodes[prev], prev}})
		s.log.Info("ec2-standin (test double): TerminateInstances", "instance", id, "was", prev)
	}
	return out, nil
}

// DescribeSpotPriceHistory

type xSpotPrice struct {
	Type      string `xml:"instanceType"`
	Product   string `xml:"productDescription"`
	Price     string `xml:"spotPrice"`
	Timestamp string `xml:"timestamp"`
	Zone      string `xml:"availabilityZone"`
}

type xSpotPriceHistoryResponse struct {
	XMLName   xml.Name     `xml:"DescribeSpotPriceHistoryResponse"`
	NS        string       `xml:"xmlns,attr"`
	Request   string       `xml:"requestId"`
	Prices    []xSpotPrice `xml:"spotPriceHistorySet>item"`
	NextToken string       `xml:"nextToken"`
}

func parseTime(f map[string][]string, name string) (time.Time, *apiError) {
	v := ""
	if vs := f[name]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errf("InvalidParameterValue", "Invalid value '%s' for %s", v, name)
	}
	return t, nil
}

func (s *Server) describeSpotPriceHistory(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	types := list(c.form, "InstanceType")
	products := list(c.form, "ProductDescription")
	zone := c.form.Get("AvailabilityZone")
	start, err := parseTime(c.form, "StartTime")
	if err != nil {
		return nil, err
	}
	end, err := parseTime(c.form, "EndTime")
	if err != nil {
		return nil, err
	}
	fs := filters(c.form)
	linux := len(products) == 0
	for _, p := range products {
		linux = linux || p == "Linux/UNIX" || p == "Linux/UNIX (Amazon VPC)"
	}
	var all []SpotPrice
	for _, p := range s.cfg.SpotPrices {
		if !linux || !strings.HasPrefix(p.Zone, c.region) || zone != "" && p.Zone != zone || len(types) > 0 && !slices.Contains(types, p.Type) {
			continue
		}
		if !end.IsZero() && p.Time.After(end) {
			continue
		}
		all = append(all, p)
	}
	all, ferr := pick(all, fs, func(p SpotPrice) map[string]string {
		return map[string]string{"instance-type": p.Type, "availability-zone": p.Zone, "product-description": "Linux/UNIX", "spot-price": p.Price}
	})
	if ferr != nil {
		return nil, ferr
	}
	// Newest first; before start, only the price in effect at start.
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.After(all[j].Time) })
	before := map[string]bool{} // series that have their price in effect at start
	var kept []SpotPrice
	for _, p := range all {
		k := p.Type + "/" + p.Zone
		if !start.IsZero() && p.Time.Before(start) {
			if before[k] {
				continue
			}
			before[k] = true
		}
		kept = append(kept, p)
	}
	kept, next, perr := page(kept, c.form, 1000)
	if perr != nil {
		return nil, perr
	}
	out := xSpotPriceHistoryResponse{NS: ec2NS, Request: requestID(), NextToken: next}
	for _, p := range kept {
		out.Prices = append(out.Prices, xSpotPrice{p.Type, "Linux/UNIX", p.Price, ec2Time(p.Time), p.Zone})
	}
	return out, nil
}

// DescribeInstanceTypeOfferings

type xOffering struct {
	Type         string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

type xOfferingsResponse struct {
	XMLName   xml.Name    `xml:"DescribeInstanceTypeOfferingsResponse"`
	NS        string      `xml:"xmlns,attr"`
	Request   string      `xml:"requestId"`
	Offerings []xOffering `xml:"instanceTypeOfferingSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

func (s *Server) describeInstanceTypeOfferings(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	lt := c.form.Get("LocationType")
	var locs []string
	switch lt {
	case "", "region":
		lt, locs = "region", []string{c.region}
	case "availability-zone":
		locs = []string{c.region + "a", c.region + "b"}
	default:
		return nil, errf("InvalidParameterValue", "Invalid value '%s' for LocationType (the stand-in knows region and availability-zone)", lt)
	}
	var all []xOffering
	for _, loc := range locs {
		for _, t := range s.cfg.Types {
			all = append(all, xOffering{t.Name, lt, loc})
		}
	}
	all, err := pick(all, filters(c.form), func(o xOffering) map[string]string {
		return map[string]string{"instance-type": o.Type, "location": o.Location}
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(all, c.form, 1000)
	if err != nil {
		return nil, err
	}
	return xOfferingsResponse{NS: ec2NS, Request: requestID(), Offerings: items, NextToken: next}, nil
}

// DescribeInstanceTypes

type xMiB struct {
	SizeInMiB int64 `xml:"sizeInMiB"`
}

type xGPU struct {
	Name         string `xml:"name"`
	Manufacturer string `xml:"manufacturer"`
	Count        int    `xml:"count"`
	Memory       xMiB   `xml:"memoryInfo"`
}

type xTypeInfo struct {
	Type         string   `xml:"instanceType"`
	CurrentGen   bool     `xml:"currentGeneration"`
	UsageClasses []string `xml:"supportedUsageClasses>item"`
	VCPU         struct {
		Default int `xml:"defaultVCpus"`
		Cores   int `xml:"defaultCores"`
		Threads int `xml:"defaultThreadsPerCore"`
	} `xml:"vCpuInfo"`
	Memory    xMiB `xml:"memoryInfo"`
	Processor struct {
		Archs []string `xml:"supportedArchitectures>item"`
	} `xml:"processorInfo"`
	GPU *struct {
		GPUs  []xGPU `xml:"gpus>item"`
		Total int64  `xml:"totalGpuMemoryInMiB"`
	} `xml:"gpuInfo,omitempty"`
}

type xTypesResponse struct {
	XMLName   xml.Name    `xml:"DescribeInstanceTypesResponse"`
	NS        string      `xml:"xmlns,attr"`
	Request   string      `xml:"requestId"`
	Types     []xTypeInfo `xml:"instanceTypeSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

// gpuMemMiB is the memory of one GPU of a model, as EC2 reports it.
var gpuMemMiB = map[string]int64{"V100": 16384, "T4": 15360, "A10G": 23028, "A100": 40960, "H100": 81920, "L4": 23034}

func (s *Server) describeInstanceTypes(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	want := list(c.form, "InstanceType")
	var missing []string
	for _, n := range want {
		if _, ok := s.cfg.typeInfo(n); !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, errf("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(missing, ", "))
	}
	var all []xTypeInfo
	for _, t := range s.cfg.Types {
		if len(want) > 0 && !slices.Contains(want, t.Name) {
			continue
		}
		x := xTypeInfo{Type: t.Name, CurrentGen: true, UsageClasses: []string{"on-demand", "spot"}, Memory: xMiB{t.MemMiB}}
		x.VCPU.Default, x.VCPU.Cores, x.VCPU.Threads = t.VCPUs, max(1, t.VCPUs/2), min(2, t.VCPUs)
		x.Processor.Archs = []string{t.Arch}
		if t.GPUs > 0 {
			g := xGPU{Name: t.GPUModel, Manufacturer: "NVIDIA", Count: t.GPUs, Memory: xMiB{gpuMemMiB[t.GPUModel]}}
			x.GPU = &struct {
				GPUs  []xGPU `xml:"gpus>item"`
				Total int64  `xml:"totalGpuMemoryInMiB"`
			}{[]xGPU{g}, g.Memory.SizeInMiB * int64(t.GPUs)}
		}
		all = append(all, x)
	}
	items, next, err := page(all, c.form, 100)
	if err != nil {
		return nil, err
	}
	return xTypesResponse{NS: ec2NS, Request: requestID(), Types: items, NextToken: next}, nil
}

// DescribeRegions

type xRegion struct {
	Name     string `xml:"regionName"`
	Endpoint string `xml:"regionEndpoint"`
	OptIn    string `xml:"optInStatus"`
}

type xRegionsResponse struct {
	XMLName xml.Name  `xml:"DescribeRegionsResponse"`
	NS      string    `xml:"xmlns,attr"`
	Request string    `xml:"requestId"`
	Regions []xRegion `xml:"regionInfo>item"`
}

func (s *Server) describeRegions(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	want := list(c.form, "RegionName")
	for _, r := range want {
		if !s.cfg.hasRegion(r) {
			return nil, errf("InvalidParameterValue", "Invalid region: %s", r)
		}
	}
	out := xRegionsResponse{NS: ec2NS, Request: requestID()}
	for _, r := range s.cfg.Regions {
		if len(want) == 0 || slices.Contains(want, r) {
			out.Regions = append(out.Regions, xRegion{r, "ec2." + r + ".amazonaws.com", "opt-in-not-required"})
		}
	}
	return out, nil
}

// DescribeImages

type xImage struct {
	ID         string `xml:"imageId"`
	Location   string `xml:"imageLocation"`
	State      string `xml:"imageState"`
	Owner      string `xml:"imageOwnerId"`
	Created    string `xml:"creationDate"`
	Public     bool   `xml:"isPublic"`
	Arch       string `xml:"architecture"`
	Type       string `xml:"imageType"`
	Name       string `xml:"name"`
	RootDevice string `xml:"rootDeviceType"`
	Virtualize string `xml:"virtualizationType"`
	Hypervisor string `xml:"hypervisor"`
}

type xImagesResponse struct {
	XMLName   xml.Name `xml:"DescribeImagesResponse"`
	NS        string   `xml:"xmlns,attr"`
	Request   string   `xml:"requestId"`
	Images    []xImage `xml:"imagesSet>item"`
	NextToken string   `xml:"nextToken,omitempty"`
}

func (s *Server) describeImages(c *call) (any, *apiError) {
	if err := dryRun(c); err != nil {
		return nil, err
	}
	ids := list(c.form, "ImageId")
	for _, id := range ids {
		if _, ok := s.cfg.image(id); !ok {
			return nil, errf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
	}
	owners := list(c.form, "Owner")
	var all []xImage
	for _, im := range s.cfg.Images {
		if len(ids) > 0 && !slices.Contains(ids, im.ID) {
			continue
		}
		if len(owners) > 0 && !slices.Contains(owners, im.Owner) && !(slices.Contains(owners, "self") && im.Owner == s.cfg.Account) {
			continue
		}
		all = append(all, xImage{ID: im.ID, Location: fmt.Sprintf("%s/%s", im.Owner, im.Name), State: "available", Owner: im.Owner,
			Created: "2026-11-01T00:00:00.000Z", Arch: im.Arch, Type: "machine", Name: im.Name, RootDevice: "ebs", Virtualize: "hvm", Hypervisor: "xen"})
	}
	all, err := pick(all, filters(c.form), func(im xImage) map[string]string {
		return map[string]string{"name": im.Name, "architecture": im.Arch, "image-id": im.ID, "owner-id": im.Owner, "state": im.State}
	})
	if err != nil {
		return nil, err
	}
	items, next, err := page(all, c.form, 1000)
	if err != nil {
		return nil, err
	}
	return xImagesResponse{NS: ec2NS, Request: requestID(), Images: items, NextToken: next}, nil
}
