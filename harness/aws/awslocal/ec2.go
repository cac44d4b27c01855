package awslocal

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ec2Call is one EC2 request being answered.
type ec2Call struct {
	ctx  context.Context
	form url.Values
	dry  bool
}

// dryRun is EC2's answer to a DryRun request that would have worked.
var dryRun = &ec2Err{http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."}

type ec2Handler func(s *Server, c *ec2Call) (ec2Answer, *ec2Err)

var ec2Actions = map[string]ec2Handler{
	"DescribeInstances":         (*Server).ec2DescribeInstances,
	"DescribeInstanceStatus":    (*Server).ec2DescribeInstanceStatus,
	"StopInstances":             (*Server).ec2StopInstances,
	"StartInstances":            (*Server).ec2StartInstances,
	"RebootInstances":           (*Server).ec2RebootInstances,
	"RunInstances":              (*Server).ec2RunInstances,
	"DescribeLaunchTemplates":   (*Server).ec2DescribeLaunchTemplates,
	"DescribeVolumes":           (*Server).ec2DescribeVolumes,
	"DescribeSubnets":           (*Server).ec2DescribeSubnets,
	"DescribeNetworkAcls":       (*Server).ec2DescribeNetworkAcls,
	"CreateNetworkAclEntry":     (*Server).ec2CreateNetworkAclEntry,
	"DeleteNetworkAclEntry":     (*Server).ec2DeleteNetworkAclEntry,
	"SendDiagnosticInterrupt":   (*Server).ec2SendDiagnosticInterrupt,
	"DescribeImages":            (*Server).ec2DescribeImages,
	"DescribeInstanceAttribute": (*Server).ec2DescribeInstanceAttribute,
	"CreateTags":                (*Server).ec2CreateTags,
}

// serveEC2 answers the EC2 query protocol: a form-encoded POST naming the
// Action, answered in XML.
func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	body, hash, err := readRPCBody(r)
	if err != nil {
		writeEC2Error(w, reqID, ec2Errorf(http.StatusBadRequest, "InvalidRequest", "%v", err))
		return
	}
	if aerr := s.verify(r, "ec2", hash); aerr != nil {
		writeEC2Error(w, reqID, ec2AuthError(aerr))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeEC2Error(w, reqID, ec2Errorf(http.StatusBadRequest, "InvalidRequest", "the request body is not a form: %v", err))
		return
	}
	action := form.Get("Action")
	h := ec2Actions[action]
	if h == nil {
		writeEC2Error(w, reqID, ec2Errorf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	c := &ec2Call{ctx: r.Context(), form: form, dry: form.Get("DryRun") == "true"}
	ans, eerr := h(s, c)
	if eerr != nil {
		writeEC2Error(w, reqID, eerr)
		return
	}
	writeEC2(w, reqID, ans)
}

func ec2AuthError(a *authError) *ec2Err {
	switch a.kind {
	case authMissing:
		return &ec2Err{http.StatusUnauthorized, "MissingAuthenticationToken", a.msg}
	case authExpired:
		return &ec2Err{http.StatusBadRequest, "RequestExpired", a.msg}
	case authUnknownKey:
		return &ec2Err{http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials"}
	default:
		return &ec2Err{http.StatusUnauthorized, "AuthFailure", a.msg}
	}
}

func internalError(err error) *ec2Err {
	return ec2Errorf(http.StatusInternalServerError, "InternalError", "An internal error has occurred: %v", err)
}

var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)

// pickInstances checks the requested ids: well formed and known. With
// running true, terminated instances count as unknown, as EC2's state
// changing actions see them.
func pickInstances(views []instView, ids []string) ([]instView, *ec2Err) {
	byID := map[string]instView{}
	for _, v := range views {
		byID[v.ID] = v
	}
	var out []instView
	var missing []string
	for _, id := range ids {
		if !instanceIDPattern.MatchString(id) {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidInstanceID.Malformed", "Invalid id: %q", id)
		}
		v, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, v)
	}
	switch len(missing) {
	case 0:
		return out, nil
	case 1:
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", missing[0])
	default:
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidInstanceID.NotFound", "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
	}
}

func badFilter(name string) *ec2Err {
	return ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", name)
}

// matchInstance applies one DescribeInstances filter.
func (s *Server) matchInstance(f filter, v instView) (bool, *ec2Err) {
	if ok, handled := matchTags(f, v.Tags); handled {
		return ok, nil
	}
	switch f.name {
	case "instance-id":
		return f.matches(v.ID), nil
	case "instance-state-name":
		return f.matches(v.State), nil
	case "instance-state-code":
		return f.matches(strconv.Itoa(stateCodes[v.State])), nil
	case "availability-zone":
		return f.matches(v.Zone), nil
	case "subnet-id":
		return f.matches(v.SubnetID), nil
	case "vpc-id":
		return f.matches(v.VPCID), nil
	case "private-ip-address", "network-interface.addresses.private-ip-address":
		return f.matches(v.PrivateIP), nil
	case "private-dns-name":
		return f.matches(s.privateDNSName(v.PrivateIP)), nil
	case "ipv6-address", "network-interface.ipv6-addresses.ipv6-address":
		return f.matches(v.IPv6), nil
	case "image-id":
		return f.matches(v.ImageID), nil
	case "instance-type":
		return f.matches(v.InstanceType), nil
	}
	return false, badFilter(f.name)
}

// privateDNSName is EC2's name for a private address.
func (s *Server) privateDNSName(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return ""
	}
	name := "ip-" + strings.ReplaceAll(a.String(), ".", "-")
	if s.o.Region == "us-east-1" {
		return name + ".ec2.internal"
	}
	return name + "." + s.o.Region + ".compute.internal"
}

func (s *Server) instanceXML(v instView) instanceXML {
	x := instanceXML{
		InstanceID:         v.ID,
		ImageID:            v.ImageID,
		State:              ec2State(v.State),
		InstanceType:       v.InstanceType,
		LaunchTime:         fmtEC2Time(v.LaunchTime),
		Placement:          placementXML{AvailabilityZone: v.Zone, Tenancy: "default"},
		Monitoring:         monitoringXML{State: "disabled"},
		SourceDestCheck:    true,
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     "/dev/xvda",
		VirtualizationType: "hvm",
		Tags:               tagSet(v.Tags),
	}
	if v.State != stateTerminated {
		x.PrivateDNSName = s.privateDNSName(v.PrivateIP)
		x.PrivateIP, x.IPv6 = v.PrivateIP, v.IPv6
		x.SubnetID, x.VpcID = v.SubnetID, v.VPCID
		var bdm []blockDeviceXML
		for _, vol := range v.Volumes {
			bdm = append(bdm, blockDeviceXML{DeviceName: vol.Device, Ebs: ebsXML{
				VolumeID: vol.ID, Status: "attached", AttachTime: fmtEC2Time(v.LaunchTime), DeleteOnTermination: vol.DeleteOnTermination,
			}})
		}
		x.BlockDeviceMapping = items(bdm)
	}
	switch v.State {
	case stateStopped, stateStopping:
		if v.StopReason != "" {
			x.Reason = v.StopReason
			x.StateReason = &stateReasonXML{"Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"}
		}
	case stateTerminated:
		x.Reason = fmt.Sprintf("Terminated (%s GMT)", v.Transition.UTC().Format("2006-01-02 15:04:05"))
	}
	return x
}

func (s *Server) reservation(vs []instView) reservationXML {
	var xs []instanceXML
	for i, v := range vs {
		x := s.instanceXML(v)
		x.AmiLaunchIndex = i
		xs = append(xs, x)
	}
	return reservationXML{
		ReservationID: shortID("r", vs[0].ID),
		OwnerID:       s.o.AccountID,
		Groups:        items[struct{}](nil),
		Instances:     items(xs),
	}
}

func (s *Server) ec2DescribeInstances(c *ec2Call) (ec2Answer, *ec2Err) {
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	if ids := strList(c.form, "InstanceId"); len(ids) > 0 {
		var eerr *ec2Err
		if views, eerr = pickInstances(views, ids); eerr != nil {
			return nil, eerr
		}
	}
	var out []reservationXML
	for _, v := range views {
		ok, ferr := s.matchAll(v, filters(c.form))
		if ferr != nil {
			return nil, ferr
		}
		if ok {
			out = append(out, s.reservation([]instView{v}))
		}
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeInstancesXML{Reservations: items(out)}, nil
}

func (s *Server) matchAll(v instView, fs []filter) (bool, *ec2Err) {
	for _, f := range fs {
		ok, err := s.matchInstance(f, v)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (s *Server) ec2DescribeInstanceStatus(c *ec2Call) (ec2Answer, *ec2Err) {
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	if ids := strList(c.form, "InstanceId"); len(ids) > 0 {
		var eerr *ec2Err
		if views, eerr = pickInstances(views, ids); eerr != nil {
			return nil, eerr
		}
	}
	all := c.form.Get("IncludeAllInstances") == "true"
	var out []instanceStatusXML
	for _, v := range views {
		if !all && v.State != stateRunning {
			continue
		}
		x := statusXML(v)
		keep := true
		for _, f := range filters(c.form) {
			var ok bool
			switch f.name {
			case "instance-id":
				ok = f.matches(v.ID)
			case "instance-state-name":
				ok = f.matches(v.State)
			case "instance-state-code":
				ok = f.matches(strconv.Itoa(stateCodes[v.State]))
			case "availability-zone":
				ok = f.matches(v.Zone)
			case "instance-status.status":
				ok = f.matches(x.InstanceStatus.Status)
			case "instance-status.reachability":
				ok = x.InstanceStatus.Details != nil && len(x.InstanceStatus.Details.Items) > 0 && f.matches(x.InstanceStatus.Details.Items[0].Status)
			case "system-status.status":
				ok = f.matches(x.SystemStatus.Status)
			default:
				return nil, badFilter(f.name)
			}
			keep = keep && ok
		}
		if keep {
			out = append(out, x)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeInstanceStatusXML{Statuses: items(out)}, nil
}

// statusXML is an instance's status checks: the instance check fails while
// the machine is down, hung or marked impaired though EC2 means it to run;
// the system check (AWS's own hardware) always passes.
func statusXML(v instView) instanceStatusXML {
	x := instanceStatusXML{
		InstanceID:       v.ID,
		AvailabilityZone: v.Zone,
		Events:           items[struct{}](nil),
		State:            ec2State(v.State),
	}
	if !v.StatusApplies {
		x.SystemStatus.Status, x.InstanceStatus.Status = "not-applicable", "not-applicable"
		return x
	}
	x.SystemStatus = statusSummaryXML{Status: "ok", Details: items([]statusDetailXML{{Name: "reachability", Status: "passed"}})}
	if v.Impaired {
		x.InstanceStatus = statusSummaryXML{Status: "impaired", Details: items([]statusDetailXML{{
			Name: "reachability", Status: "failed", ImpairedSince: fmtEC2Time(v.ImpairedSince),
		}})}
	} else {
		x.InstanceStatus = statusSummaryXML{Status: "ok", Details: items([]statusDetailXML{{Name: "reachability", Status: "passed"}})}
	}
	return x
}

// changeStates runs a state change on every requested instance.
func (s *Server) changeStates(c *ec2Call, action, verb string, change func(id string) (stateChange, error)) (ec2Answer, *ec2Err) {
	ids := strList(c.form, "InstanceId")
	if len(ids) == 0 {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	picked, eerr := pickInstances(views, ids)
	if eerr != nil {
		return nil, eerr
	}
	for _, v := range picked {
		if v.State == stateTerminated {
			return nil, ec2Errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be %s.", v.ID, verb)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	var out []stateChangeXML
	for _, v := range picked {
		ch, err := change(v.ID)
		if err != nil {
			var bad *errIncorrectState
			if errors.As(err, &bad) {
				return nil, ec2Errorf(http.StatusBadRequest, "IncorrectInstanceState", "%s", bad.Error())
			}
			return nil, internalError(err)
		}
		out = append(out, stateChangeXML{InstanceID: ch.id, Current: ec2State(ch.current), Previous: ec2State(ch.previous)})
	}
	return &stateChangesXML{XMLName: xmlName(action + "Response"), Instances: items(out)}, nil
}

func (s *Server) ec2StopInstances(c *ec2Call) (ec2Answer, *ec2Err) {
	force := c.form.Get("Force") == "true"
	reason := fmt.Sprintf("User initiated (%s GMT)", s.now().Format("2006-01-02 15:04:05"))
	return s.changeStates(c, "StopInstances", "stopped", func(id string) (stateChange, error) {
		return s.stopInstance(id, force, reason)
	})
}

func (s *Server) ec2StartInstances(c *ec2Call) (ec2Answer, *ec2Err) {
	return s.changeStates(c, "StartInstances", "started", s.startInstance)
}

func (s *Server) ec2RebootInstances(c *ec2Call) (ec2Answer, *ec2Err) {
	ids := strList(c.form, "InstanceId")
	if len(ids) == 0 {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	picked, eerr := pickInstances(views, ids)
	if eerr != nil {
		return nil, eerr
	}
	for _, v := range picked {
		if v.State != stateRunning {
			return nil, ec2Errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be rebooted.", v.ID)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	for _, v := range picked {
		if err := s.rebootInstance(v.ID); err != nil {
			return nil, ec2Errorf(http.StatusBadRequest, "IncorrectInstanceState", "%s", err.Error())
		}
	}
	return &returnXML{XMLName: xmlName("RebootInstancesResponse"), Return: true}, nil
}

func (s *Server) ec2DescribeVolumes(c *ec2Call) (ec2Answer, *ec2Err) {
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	want := strList(c.form, "VolumeId")
	found := map[string]bool{}
	var out []volumeXML
	for _, v := range views {
		if v.State == stateTerminated {
			continue
		}
		for _, vol := range v.Volumes {
			if len(want) > 0 && !slices.Contains(want, vol.ID) {
				continue
			}
			keep := true
			for _, f := range filters(c.form) {
				var ok bool
				switch f.name {
				case "attachment.instance-id":
					ok = f.matches(v.ID)
				case "attachment.delete-on-termination":
					ok = f.matches(strconv.FormatBool(vol.DeleteOnTermination))
				case "attachment.device":
					ok = f.matches(vol.Device)
				case "attachment.status":
					ok = f.matches("attached")
				case "volume-id":
					ok = f.matches(vol.ID)
				case "availability-zone":
					ok = f.matches(v.Zone)
				case "status":
					ok = f.matches("in-use")
				case "volume-type":
					ok = f.matches("gp3")
				case "size":
					ok = f.matches(strconv.Itoa(int(vol.SizeGiB)))
				default:
					return nil, badFilter(f.name)
				}
				keep = keep && ok
			}
			if !keep {
				continue
			}
			found[vol.ID] = true
			out = append(out, volumeXML{
				VolumeID:         vol.ID,
				Size:             vol.SizeGiB,
				AvailabilityZone: v.Zone,
				Status:           "in-use",
				CreateTime:       fmtEC2Time(v.LaunchTime),
				Attachments: items([]volumeAttachmentXML{{
					VolumeID: vol.ID, InstanceID: v.ID, Device: vol.Device, Status: "attached",
					AttachTime: fmtEC2Time(v.LaunchTime), DeleteOnTermination: vol.DeleteOnTermination,
				}}),
				VolumeType: "gp3",
				Iops:       3000,
				Throughput: 125,
			})
		}
	}
	for _, id := range want {
		if !found[id] && len(filters(c.form)) == 0 {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeVolumesXML{Volumes: items(out)}, nil
}

// subnetsSnapshot copies the subnets, sorted by zone, after a refresh.
func (s *Server) subnetsSnapshot(ctx context.Context) ([]subnet, []instView, *ec2Err) {
	views, err := s.refresh(ctx)
	if err != nil {
		return nil, nil, internalError(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []subnet
	for _, z := range sortedKeys(s.subnets) {
		sn := *s.subnets[z]
		acl := *sn.acl
		acl.entries = slices.Clone(acl.entries)
		sn.acl = &acl
		out = append(out, sn)
	}
	return out, views, nil
}

func (s *Server) ec2DescribeSubnets(c *ec2Call) (ec2Answer, *ec2Err) {
	subnets, views, eerr := s.subnetsSnapshot(c.ctx)
	if eerr != nil {
		return nil, eerr
	}
	want := strList(c.form, "SubnetId")
	found := map[string]bool{}
	var out []subnetXML
	for _, sn := range subnets {
		if len(want) > 0 && !slices.Contains(want, sn.id) {
			continue
		}
		tags := map[string]string{"Name": sn.zone}
		keep := true
		for _, f := range filters(c.form) {
			ok, handled := matchTags(f, tags)
			if !handled {
				switch f.name {
				case "subnet-id":
					ok = f.matches(sn.id)
				case "availability-zone":
					ok = f.matches(sn.zone)
				case "vpc-id":
					ok = f.matches(sn.vpcID)
				case "cidr-block", "cidrBlock", "cidr":
					ok = f.matches(sn.cidr)
				case "state":
					ok = f.matches("available")
				case "default-for-az", "defaultForAz":
					ok = f.matches("false")
				default:
					return nil, badFilter(f.name)
				}
			}
			keep = keep && ok
		}
		if !keep {
			continue
		}
		found[sn.id] = true
		x := subnetXML{
			SubnetID:                sn.id,
			SubnetArn:               fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.o.Region, s.o.AccountID, sn.id),
			State:                   "available",
			VpcID:                   sn.vpcID,
			OwnerID:                 s.o.AccountID,
			CIDR:                    sn.cidr,
			AvailableIPAddressCount: freeAddresses(sn.cidr, views),
			AvailabilityZone:        sn.zone,
			Tags:                    tagSet(tags),
		}
		if sn.ipv6CIDR != "" {
			a := ipv6AssocXML{CIDR: sn.ipv6CIDR, AssociationID: shortID("subnet-cidr-assoc", sn.id)}
			a.State.State = "associated"
			x.IPv6 = items([]ipv6AssocXML{a})
		}
		out = append(out, x)
	}
	for _, id := range want {
		if !found[id] && len(filters(c.form)) == 0 {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeSubnetsXML{Subnets: items(out)}, nil
}

// freeAddresses is the subnet's size less AWS's 5 reserved addresses and
// the instances in it.
func freeAddresses(cidr string, views []instView) int {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return 0
	}
	n := (1 << (32 - p.Bits())) - 5
	for _, v := range views {
		if a, err := netip.ParseAddr(v.PrivateIP); err == nil && p.Contains(a) && v.State != stateTerminated {
			n--
		}
	}
	return max(n, 0)
}

func aclEntriesXML(es []aclEntry) []aclEntryXML {
	out := make([]aclEntryXML, 0, len(es))
	for _, e := range es {
		x := aclEntryXML{RuleNumber: e.number, Protocol: e.protocol, RuleAction: "deny", Egress: e.egress, CIDR: e.cidr, IPv6CIDR: e.ipv6CIDR}
		if e.allow {
			x.RuleAction = "allow"
		}
		if e.hasPorts {
			x.PortRange = &portRangeXML{e.fromPort, e.toPort}
		}
		if e.hasICMP {
			x.ICMP = &icmpXML{Code: e.icmpCode, Type: e.icmpType}
		}
		out = append(out, x)
	}
	slices.SortStableFunc(out, func(a, b aclEntryXML) int {
		if a.Egress != b.Egress {
			if a.Egress {
				return 1
			}
			return -1
		}
		return int(a.RuleNumber - b.RuleNumber)
	})
	return out
}

func (s *Server) ec2DescribeNetworkAcls(c *ec2Call) (ec2Answer, *ec2Err) {
	subnets, _, eerr := s.subnetsSnapshot(c.ctx)
	if eerr != nil {
		return nil, eerr
	}
	want := strList(c.form, "NetworkAclId")
	found := map[string]bool{}
	var out []networkACLXML
	for _, sn := range subnets {
		acl := sn.acl
		if len(want) > 0 && !slices.Contains(want, acl.id) {
			continue
		}
		tags := map[string]string{"Name": sn.zone}
		keep := true
		for _, f := range filters(c.form) {
			ok, handled := matchTags(f, tags)
			if !handled {
				switch f.name {
				case "association.subnet-id":
					ok = f.matches(sn.id)
				case "association.network-acl-id", "network-acl-id":
					ok = f.matches(acl.id)
				case "association.association-id":
					ok = f.matches(acl.assocID)
				case "vpc-id":
					ok = f.matches(sn.vpcID)
				case "default":
					ok = f.matches("false")
				case "owner-id":
					ok = f.matches(s.o.AccountID)
				default:
					return nil, badFilter(f.name)
				}
			}
			keep = keep && ok
		}
		if !keep {
			continue
		}
		found[acl.id] = true
		out = append(out, networkACLXML{
			ID:           acl.id,
			VpcID:        sn.vpcID,
			OwnerID:      s.o.AccountID,
			Entries:      items(aclEntriesXML(acl.entries)),
			Associations: items([]aclAssocXML{{AssociationID: acl.assocID, ACLID: acl.id, SubnetID: sn.id}}),
			Tags:         tagSet(tags),
		})
	}
	for _, id := range want {
		if !found[id] && len(filters(c.form)) == 0 {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeNetworkACLsXML{ACLs: items(out)}, nil
}

// protocols are the names EC2 accepts for the common protocol numbers.
var protocols = map[string]string{"all": "-1", "tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}

// parseEntry reads the parameters naming and describing an ACL entry.
func parseEntry(form url.Values, full bool) (aclEntry, *ec2Err) {
	var e aclEntry
	num, err := strconv.Atoi(form.Get("RuleNumber"))
	if form.Get("RuleNumber") == "" {
		return e, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter ruleNumber")
	}
	if err != nil || num < 1 || num > 32766 {
		return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid value '%s' for ruleNumber. Value must be in range 1 to 32766.", form.Get("RuleNumber"))
	}
	e.number = int32(num)
	e.egress = form.Get("Egress") == "true"
	if !full {
		return e, nil
	}
	switch a := form.Get("RuleAction"); a {
	case "allow":
		e.allow = true
	case "deny":
	case "":
		return e, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter ruleAction")
	default:
		return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid value '%s' for ruleAction. Valid values: allow, deny", a)
	}
	p := strings.ToLower(form.Get("Protocol"))
	if n, ok := protocols[p]; ok {
		p = n
	}
	if n, err := strconv.Atoi(p); err != nil || n < -1 || n > 255 {
		return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid value '%s' for protocol. Must be a protocol number, -1, or one of tcp, udp, icmp, icmpv6, all.", form.Get("Protocol"))
	}
	e.protocol = p
	v4, v6 := form.Get("CidrBlock"), form.Get("Ipv6CidrBlock")
	switch {
	case v4 == "" && v6 == "":
		return e, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain either the parameter cidrBlock or ipv6CidrBlock")
	case v4 != "" && v6 != "":
		return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterCombination", "Only one of cidrBlock and ipv6CidrBlock may be given")
	case v4 != "":
		pfx, err := netip.ParsePrefix(v4)
		if err != nil || !pfx.Addr().Is4() {
			return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", v4)
		}
		e.cidr = pfx.Masked().String()
	default:
		pfx, err := netip.ParsePrefix(v6)
		if err != nil || !pfx.Addr().Is6() {
			return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.", v6)
		}
		e.ipv6CIDR = pfx.Masked().String()
	}
	switch e.protocol {
	case "6", "17":
		pr := sub(form, "PortRange")
		from, err1 := strconv.Atoi(pr.Get("From"))
		to, err2 := strconv.Atoi(pr.Get("To"))
		if pr.Get("From") == "" || pr.Get("To") == "" {
			return e, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter portRange for protocol %s", e.protocol)
		}
		if err1 != nil || err2 != nil || from < 0 || to > 65535 || from > to {
			return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid port range %s-%s", pr.Get("From"), pr.Get("To"))
		}
		e.fromPort, e.toPort, e.hasPorts = int32(from), int32(to), true
	case "1", "58":
		ic := sub(form, "Icmp")
		t, err1 := strconv.Atoi(ic.Get("Type"))
		code, err2 := strconv.Atoi(ic.Get("Code"))
		if ic.Get("Type") == "" || ic.Get("Code") == "" {
			return e, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter icmpTypeCode for protocol %s", e.protocol)
		}
		if err1 != nil || err2 != nil || t < -1 || t > 255 || code < -1 || code > 255 {
			return e, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid ICMP type %s or code %s", ic.Get("Type"), ic.Get("Code"))
		}
		e.icmpType, e.icmpCode, e.hasICMP = int32(t), int32(code), true
	}
	return e, nil
}

// aclByID finds a network ACL's subnet. s.mu is held.
func (s *Server) aclByIDLocked(id string) *subnet {
	for _, sn := range s.subnets {
		if sn.acl.id == id {
			return sn
		}
	}
	return nil
}

// lockACLEntry reads a Create/DeleteNetworkAclEntry request and finds its
// ACL; on success it returns with s.mu held, for the caller to unlock.
func (s *Server) lockACLEntry(c *ec2Call, create bool) (*subnet, aclEntry, *ec2Err) {
	if _, err := s.refresh(c.ctx); err != nil {
		return nil, aclEntry{}, internalError(err)
	}
	e, eerr := parseEntry(c.form, create)
	if eerr != nil {
		return nil, aclEntry{}, eerr
	}
	id := c.form.Get("NetworkAclId")
	s.mu.Lock()
	sn := s.aclByIDLocked(id)
	if sn == nil {
		s.mu.Unlock()
		return nil, aclEntry{}, ec2Errorf(http.StatusBadRequest, "InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
	}
	return sn, e, nil
}

func (s *Server) ec2CreateNetworkAclEntry(c *ec2Call) (ec2Answer, *ec2Err) {
	sn, e, eerr := s.lockACLEntry(c, true)
	if eerr != nil {
		return nil, eerr
	}
	for _, old := range sn.acl.entries {
		if old.number == e.number && old.egress == e.egress {
			s.mu.Unlock()
			return nil, ec2Errorf(http.StatusBadRequest, "NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", e.number)
		}
	}
	if c.dry {
		s.mu.Unlock()
		return nil, dryRun
	}
	sn.acl.entries = append(sn.acl.entries, e)
	s.mu.Unlock()
	// AWS applies ACL changes within seconds; doing it before answering
	// makes the change's effect immediate for whoever asked.
	s.reconcileFirewall(c.ctx)
	return &returnXML{XMLName: xmlName("CreateNetworkAclEntryResponse"), Return: true}, nil
}

func (s *Server) ec2DeleteNetworkAclEntry(c *ec2Call) (ec2Answer, *ec2Err) {
	sn, e, eerr := s.lockACLEntry(c, false)
	if eerr != nil {
		return nil, eerr
	}
	i := slices.IndexFunc(sn.acl.entries, func(old aclEntry) bool { return old.number == e.number && old.egress == e.egress })
	if i < 0 {
		s.mu.Unlock()
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidNetworkAclEntry.NotFound", "The network acl entry identified by %d could not be found.", e.number)
	}
	if c.dry {
		s.mu.Unlock()
		return nil, dryRun
	}
	sn.acl.entries = slices.Delete(sn.acl.entries, i, i+1)
	s.mu.Unlock()
	s.reconcileFirewall(c.ctx)
	return &returnXML{XMLName: xmlName("DeleteNetworkAclEntryResponse"), Return: true}, nil
}

// resolveTemplate finds the launch template a request names by id or name.
func resolveTemplate(ts []LaunchTemplate, id, name string) (*LaunchTemplate, *ec2Err) {
	for i := range ts {
		if (id != "" && ts[i].ID == id) || (id == "" && ts[i].Name == name) {
			return &ts[i], nil
		}
	}
	if id != "" {
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id)
	}
	return nil, ec2Errorf(http.StatusBadRequest, "InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

func (s *Server) ec2RunInstances(c *ec2Call) (ec2Answer, *ec2Err) {
	l, ok := s.o.Backend.(Launcher)
	if !ok {
		return nil, ec2Errorf(http.StatusBadRequest, "UnsupportedOperation", "This backend cannot launch instances.")
	}
	minCount, err1 := strconv.Atoi(c.form.Get("MinCount"))
	maxCount, err2 := strconv.Atoi(c.form.Get("MaxCount"))
	if err1 != nil || err2 != nil {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameters MinCount and MaxCount")
	}
	if minCount < 1 || maxCount < minCount {
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "MinCount (%d) must be at least 1 and at most MaxCount (%d)", minCount, maxCount)
	}
	const most = 10
	if minCount > most {
		return nil, ec2Errorf(http.StatusBadRequest, "InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit of %d allows.", minCount, most)
	}
	spec := LaunchSpec{ImageID: c.form.Get("ImageId"), InstanceType: c.form.Get("InstanceType"), Tags: map[string]string{}}
	lt := sub(c.form, "LaunchTemplate")
	if ltID, ltName := lt.Get("LaunchTemplateId"), lt.Get("LaunchTemplateName"); ltID != "" || ltName != "" {
		ts, err := l.LaunchTemplates(c.ctx)
		if err != nil {
			return nil, internalError(err)
		}
		t, eerr := resolveTemplate(ts, ltID, ltName)
		if eerr != nil {
			return nil, eerr
		}
		if v := lt.Get("Version"); v != "" && v != "$Latest" && v != "$Default" && v != strconv.FormatInt(t.Version, 10) {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidLaunchTemplateId.VersionNotFound", "Could not find launch template version %s for template %s", v, t.ID)
		}
		spec.Template = t
		if spec.ImageID == "" {
			spec.ImageID = t.ImageID
		}
		if spec.InstanceType == "" {
			spec.InstanceType = t.InstanceType
		}
		spec.Tags["aws:ec2launchtemplate:id"] = t.ID
		spec.Tags["aws:ec2launchtemplate:version"] = strconv.FormatInt(t.Version, 10)
	}
	if spec.ImageID == "" {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter ImageId")
	}
	userData := c.form.Get("UserData")
	if _, err := base64.StdEncoding.DecodeString(userData); err != nil {
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid BASE64 encoding of user data.")
	}
	for _, ts := range members(c.form, "TagSpecification") {
		if ts.Get("ResourceType") != "instance" {
			continue
		}
		for _, t := range members(ts, "Tag") {
			if strings.HasPrefix(t.Get("Key"), "aws:") {
				return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
			}
			spec.Tags[t.Get("Key")] = t.Get("Value")
		}
	}
	subnets, _, eerr := s.subnetsSnapshot(c.ctx)
	if eerr != nil {
		return nil, eerr
	}
	subnetID, az := c.form.Get("SubnetId"), sub(c.form, "Placement").Get("AvailabilityZone")
	for _, sn := range subnets {
		if (subnetID != "" && sn.id == subnetID) || (subnetID == "" && az != "" && sn.zone == az) {
			spec.Zone = sn.zone
		}
	}
	switch {
	case spec.Zone == "" && subnetID != "":
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnetID)
	case spec.Zone == "" && az != "":
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Invalid availability zone: [%s]", az)
	case spec.Zone == "" && len(subnets) > 0:
		spec.Zone = subnets[0].zone
	}
	if c.dry {
		return nil, dryRun
	}
	// The SDK sends a ClientToken so that a retried RunInstances does not
	// launch twice: the same token gets the first call's instances.
	s.runMu.Lock()
	defer s.runMu.Unlock()
	token := c.form.Get("ClientToken")
	ids, seen := s.runTokens[token]
	if !seen || token == "" {
		for range maxCount {
			in, err := l.Launch(c.ctx, spec)
			if err != nil {
				if len(ids) >= minCount {
					break
				}
				// Not a 5xx: the SDK would retry it.
				return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "launch instance: %v", err)
			}
			ids = append(ids, in.ID)
		}
		if token != "" {
			s.runTokens[token] = ids
		}
	}
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	var launched []instView
	s.mu.Lock()
	for _, id := range ids {
		if rec := s.insts[id]; rec != nil && !seen {
			rec.userData = userData // DescribeInstanceAttribute userData
		}
		for _, v := range views {
			if v.ID == id {
				if !seen {
					v.State = statePending
				}
				launched = append(launched, v)
			}
		}
	}
	s.mu.Unlock()
	if len(launched) == 0 {
		return nil, internalError(fmt.Errorf("launched instances %v are gone", ids))
	}
	return &runInstancesXML{reservationXML: s.reservation(launched)}, nil
}

func (s *Server) ec2DescribeLaunchTemplates(c *ec2Call) (ec2Answer, *ec2Err) {
	var ts []LaunchTemplate
	if l, ok := s.o.Backend.(Launcher); ok {
		var err error
		if ts, err = l.LaunchTemplates(c.ctx); err != nil {
			return nil, internalError(err)
		}
	}
	ids, names := strList(c.form, "LaunchTemplateId"), strList(c.form, "LaunchTemplateName")
	for _, id := range ids {
		if _, eerr := resolveTemplate(ts, id, ""); eerr != nil {
			return nil, eerr
		}
	}
	for _, n := range names {
		if _, eerr := resolveTemplate(ts, "", n); eerr != nil {
			return nil, eerr
		}
	}
	var out []launchTemplateXML
	for _, t := range ts {
		if len(ids) > 0 && !slices.Contains(ids, t.ID) || len(names) > 0 && !slices.Contains(names, t.Name) {
			continue
		}
		keep := true
		for _, f := range filters(c.form) {
			ok, handled := matchTags(f, t.Tags)
			if !handled {
				switch f.name {
				case "launch-template-name":
					ok = f.matches(t.Name)
				case "create-time":
					ok = f.matches(fmtEC2Time(t.CreateTime))
				default:
					return nil, badFilter(f.name)
				}
			}
			keep = keep && ok
		}
		if !keep {
			continue
		}
		out = append(out, launchTemplateXML{
			ID: t.ID, Name: t.Name, CreateTime: fmtEC2Time(t.CreateTime),
			CreatedBy:            fmt.Sprintf("arn:aws:iam::%s:root", s.o.AccountID),
			DefaultVersionNumber: t.Version, LatestVersionNumber: t.Version,
			Tags: tagSet(t.Tags),
		})
	}
	if c.dry {
		return nil, dryRun
	}
	return &describeLaunchTemplatesXML{Templates: items(out)}, nil
}
