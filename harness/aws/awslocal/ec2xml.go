package awslocal

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"time"
)

// The EC2 query protocol answers in XML in EC2's 2016-11-15 namespace: one
// element named after the action plus "Response", the request id, and the
// result's members with lower-camel names; lists are sets of <item>.

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// ec2Time is EC2's timestamp format.
const ec2Time = "2006-01-02T15:04:05.000Z"

func fmtEC2Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(ec2Time)
}

// ec2Head starts every EC2 answer.
type ec2Head struct {
	Xmlns     string `xml:"xmlns,attr"`
	RequestID string `xml:"requestId"`
}

func (h *ec2Head) head() *ec2Head { return h }

type ec2Answer interface{ head() *ec2Head }

// itemSet is an EC2 list.
type itemSet[T any] struct {
	Items []T `xml:"item"`
}

func xmlName(local string) xml.Name { return xml.Name{Local: local} }

func items[T any](v []T) *itemSet[T] { return &itemSet[T]{Items: v} }

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// tagSet is EC2's tagSet, absent when there are no tags.
func tagSet(tags map[string]string) *itemSet[tagXML] {
	if len(tags) == 0 {
		return nil
	}
	var out []tagXML
	for _, k := range sortedKeys(tags) {
		out = append(out, tagXML{k, tags[k]})
	}
	return items(out)
}

type stateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func ec2State(name string) stateXML { return stateXML{stateCodes[name], name} }

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type ebsXML struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type blockDeviceXML struct {
	DeviceName string `xml:"deviceName"`
	Ebs        ebsXML `xml:"ebs"`
}

type instanceXML struct {
	InstanceID         string                   `xml:"instanceId"`
	ImageID            string                   `xml:"imageId"`
	State              stateXML                 `xml:"instanceState"`
	PrivateDNSName     string                   `xml:"privateDnsName"`
	DNSName            string                   `xml:"dnsName"`
	Reason             string                   `xml:"reason"`
	AmiLaunchIndex     int                      `xml:"amiLaunchIndex"`
	InstanceType       string                   `xml:"instanceType"`
	LaunchTime         string                   `xml:"launchTime"`
	Placement          placementXML             `xml:"placement"`
	Monitoring         monitoringXML            `xml:"monitoring"`
	SubnetID           string                   `xml:"subnetId,omitempty"`
	VpcID              string                   `xml:"vpcId,omitempty"`
	PrivateIP          string                   `xml:"privateIpAddress,omitempty"`
	IPv6               string                   `xml:"ipv6Address,omitempty"`
	SourceDestCheck    bool                     `xml:"sourceDestCheck"`
	StateReason        *stateReasonXML          `xml:"stateReason,omitempty"`
	Architecture       string                   `xml:"architecture"`
	RootDeviceType     string                   `xml:"rootDeviceType"`
	RootDeviceName     string                   `xml:"rootDeviceName"`
	BlockDeviceMapping *itemSet[blockDeviceXML] `xml:"blockDeviceMapping"`
	VirtualizationType string                   `xml:"virtualizationType"`
	Tags               *itemSet[tagXML]         `xml:"tagSet,omitempty"`
}

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	Tenancy          string `xml:"tenancy"`
}

type monitoringXML struct {
	State string `xml:"state"`
}

type reservationXML struct {
	ReservationID string                `xml:"reservationId"`
	OwnerID       string                `xml:"ownerId"`
	Groups        *itemSet[struct{}]    `xml:"groupSet"`
	Instances     *itemSet[instanceXML] `xml:"instancesSet"`
}

type describeInstancesXML struct {
	XMLName xml.Name `xml:"DescribeInstancesResponse"`
	ec2Head
	Reservations *itemSet[reservationXML] `xml:"reservationSet"`
}

type runInstancesXML struct {
	XMLName xml.Name `xml:"RunInstancesResponse"`
	ec2Head
	reservationXML
}

type stateChangeXML struct {
	InstanceID string   `xml:"instanceId"`
	Current    stateXML `xml:"currentState"`
	Previous   stateXML `xml:"previousState"`
}

type stateChangesXML struct {
	XMLName xml.Name
	ec2Head
	Instances *itemSet[stateChangeXML] `xml:"instancesSet"`
}

type returnXML struct {
	XMLName xml.Name
	ec2Head
	Return bool `xml:"return"`
}

type statusDetailXML struct {
	Name          string `xml:"name"`
	Status        string `xml:"status"`
	ImpairedSince string `xml:"impairedSince,omitempty"`
}

type statusSummaryXML struct {
	Status  string                    `xml:"status"`
	Details *itemSet[statusDetailXML] `xml:"details"`
}

type instanceStatusXML struct {
	InstanceID       string             `xml:"instanceId"`
	AvailabilityZone string             `xml:"availabilityZone"`
	Events           *itemSet[struct{}] `xml:"eventsSet"`
	State            stateXML           `xml:"instanceState"`
	SystemStatus     statusSummaryXML   `xml:"systemStatus"`
	InstanceStatus   statusSummaryXML   `xml:"instanceStatus"`
}

type describeInstanceStatusXML struct {
	XMLName xml.Name `xml:"DescribeInstanceStatusResponse"`
	ec2Head
	Statuses *itemSet[instanceStatusXML] `xml:"instanceStatusSet"`
}

type volumeAttachmentXML struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type volumeXML struct {
	VolumeID           string                        `xml:"volumeId"`
	Size               int32                         `xml:"size"`
	SnapshotID         string                        `xml:"snapshotId"`
	AvailabilityZone   string                        `xml:"availabilityZone"`
	Status             string                        `xml:"status"`
	CreateTime         string                        `xml:"createTime"`
	Attachments        *itemSet[volumeAttachmentXML] `xml:"attachmentSet"`
	VolumeType         string                        `xml:"volumeType"`
	Iops               int32                         `xml:"iops"`
	Throughput         int32                         `xml:"throughput"`
	Encrypted          bool                          `xml:"encrypted"`
	MultiAttachEnabled bool                          `xml:"multiAttachEnabled"`
}

type describeVolumesXML struct {
	XMLName xml.Name `xml:"DescribeVolumesResponse"`
	ec2Head
	Volumes *itemSet[volumeXML] `xml:"volumeSet"`
}

type ipv6AssocXML struct {
	CIDR          string `xml:"ipv6CidrBlock"`
	AssociationID string `xml:"associationId"`
	State         struct {
		State string `xml:"state"`
	} `xml:"ipv6CidrBlockState"`
}

type subnetXML struct {
	SubnetID                string                 `xml:"subnetId"`
	SubnetArn               string                 `xml:"subnetArn"`
	State                   string                 `xml:"state"`
	VpcID                   string                 `xml:"vpcId"`
	OwnerID                 string                 `xml:"ownerId"`
	CIDR                    string                 `xml:"cidrBlock"`
	IPv6                    *itemSet[ipv6AssocXML] `xml:"ipv6CidrBlockAssociationSet,omitempty"`
	AvailableIPAddressCount int                    `xml:"availableIpAddressCount"`
	AvailabilityZone        string                 `xml:"availabilityZone"`
	DefaultForAz            bool                   `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool                   `xml:"mapPublicIpOnLaunch"`
	Tags                    *itemSet[tagXML]       `xml:"tagSet,omitempty"`
}

type describeSubnetsXML struct {
	XMLName xml.Name `xml:"DescribeSubnetsResponse"`
	ec2Head
	Subnets *itemSet[subnetXML] `xml:"subnetSet"`
}

type icmpXML struct {
	Code int32 `xml:"code"`
	Type int32 `xml:"type"`
}

type portRangeXML struct {
	From int32 `xml:"from"`
	To   int32 `xml:"to"`
}

type aclEntryXML struct {
	RuleNumber int32         `xml:"ruleNumber"`
	Protocol   string        `xml:"protocol"`
	RuleAction string        `xml:"ruleAction"`
	Egress     bool          `xml:"egress"`
	CIDR       string        `xml:"cidrBlock,omitempty"`
	IPv6CIDR   string        `xml:"ipv6CidrBlock,omitempty"`
	ICMP       *icmpXML      `xml:"icmpTypeCode,omitempty"`
	PortRange  *portRangeXML `xml:"portRange,omitempty"`
}

type aclAssocXML struct {
	AssociationID string `xml:"networkAclAssociationId"`
	ACLID         string `xml:"networkAclId"`
	SubnetID      string `xml:"subnetId"`
}

type networkACLXML struct {
	ID           string                `xml:"networkAclId"`
	VpcID        string                `xml:"vpcId"`
	OwnerID      string                `xml:"ownerId"`
	Default      bool                  `xml:"default"`
	Entries      *itemSet[aclEntryXML] `xml:"entrySet"`
	Associations *itemSet[aclAssocXML] `xml:"associationSet"`
	Tags         *itemSet[tagXML]      `xml:"tagSet,omitempty"`
}

type describeNetworkACLsXML struct {
	XMLName xml.Name `xml:"DescribeNetworkAclsResponse"`
	ec2Head
	ACLs *itemSet[networkACLXML] `xml:"networkAclSet"`
}

type launchTemplateXML struct {
	ID                   string           `xml:"launchTemplateId"`
	Name                 string           `xml:"launchTemplateName"`
	CreateTime           string           `xml:"createTime"`
	CreatedBy            string           `xml:"createdBy"`
	DefaultVersionNumber int64            `xml:"defaultVersionNumber"`
	LatestVersionNumber  int64            `xml:"latestVersionNumber"`
	Tags                 *itemSet[tagXML] `xml:"tagSet,omitempty"`
}

type describeLaunchTemplatesXML struct {
	XMLName xml.Name `xml:"DescribeLaunchTemplatesResponse"`
	ec2Head
	Templates *itemSet[launchTemplateXML] `xml:"launchTemplates"`
}

// ec2Err is an EC2 error answer.
type ec2Err struct {
	status  int
	code    string
	message string
}

func (e *ec2Err) Error() string { return e.code + ": " + e.message }

func ec2Errorf(status int, code, format string, args ...any) *ec2Err {
	return &ec2Err{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

type ec2ErrorXML struct {
	XMLName xml.Name `xml:"Response"`
	Errors  struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	} `xml:"Errors"`
	RequestID string `xml:"RequestID"`
}

func writeEC2Error(w http.ResponseWriter, reqID string, e *ec2Err) {
	var x ec2ErrorXML
	x.Errors.Error.Code, x.Errors.Error.Message, x.RequestID = e.code, e.message, reqID
	writeXML(w, e.status, x)
}

func writeEC2(w http.ResponseWriter, reqID string, a ec2Answer) {
	h := a.head()
	h.Xmlns, h.RequestID = ec2Namespace, reqID
	writeXML(w, http.StatusOK, a)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
