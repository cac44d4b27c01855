package awslocal

import (
	"encoding/xml"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// What re-provisioning reads of the old control plane: its AMI
// (DescribeImages) and its user data (DescribeInstanceAttribute).
//
// The backend has no image catalogue of its own: the AMIs the server knows
// are the images its instances (and launch templates) were made from, all
// owned by the account, private and available.

type imageXML struct {
	ImageID            string           `xml:"imageId"`
	ImageLocation      string           `xml:"imageLocation"`
	State              string           `xml:"imageState"`
	OwnerID            string           `xml:"imageOwnerId"`
	CreationDate       string           `xml:"creationDate"`
	Public             bool             `xml:"isPublic"`
	Architecture       string           `xml:"architecture"`
	ImageType          string           `xml:"imageType"`
	Name               string           `xml:"name"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	RootDeviceName     string           `xml:"rootDeviceName"`
	VirtualizationType string           `xml:"virtualizationType"`
	Hypervisor         string           `xml:"hypervisor"`
	EnaSupport         bool             `xml:"enaSupport"`
	PlatformDetails    string           `xml:"platformDetails"`
	UsageOperation     string           `xml:"usageOperation"`
	Tags               *itemSet[tagXML] `xml:"tagSet,omitempty"`
}

type describeImagesXML struct {
	XMLName xml.Name `xml:"DescribeImagesResponse"`
	ec2Head
	Images *itemSet[imageXML] `xml:"imagesSet"`
}

// image is one AMI the server knows of.
type image struct {
	id, name string
	created  time.Time
}

var amiPattern = regexp.MustCompile(`^ami-[0-9a-f]{8}([0-9a-f]{9})?$`)

// images lists the AMIs of every instance the server has seen (terminated
// ones too: an AMI outlives its instances) and of the backend's launch
// templates, by id. Each was "created" when the first instance from it
// was launched.
func (s *Server) images(c *ec2Call) (map[string]*image, *ec2Err) {
	if _, err := s.refresh(c.ctx); err != nil {
		return nil, internalError(err)
	}
	out := map[string]*image{}
	add := func(id, name string, at time.Time) {
		if !amiPattern.MatchString(id) {
			return
		}
		im := out[id]
		if im == nil {
			im = &image{id: id, created: at}
			out[id] = im
		}
		if im.name == "" {
			im.name = name
		}
		if !at.IsZero() && (im.created.IsZero() || at.Before(im.created)) {
			im.created = at
		}
	}
	s.mu.Lock()
	for _, rec := range s.insts {
		add(rec.last.ImageID, rec.last.ImageName, rec.last.LaunchTime)
	}
	s.mu.Unlock()
	if l, ok := s.o.Backend.(Launcher); ok {
		ts, err := l.LaunchTemplates(c.ctx)
		if err != nil {
			return nil, internalError(err)
		}
		for _, t := range ts {
			add(t.ImageID, t.Name, t.CreateTime)
		}
	}
	return out, nil
}

func (s *Server) ec2DescribeImages(c *ec2Call) (ec2Answer, *ec2Err) {
	ids := strList(c.form, "ImageId")
	for _, id := range ids {
		if !amiPattern.MatchString(id) {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidAMIID.Malformed", "Invalid id: %q (expecting \"ami-...\")", id)
		}
	}
	known, eerr := s.images(c)
	if eerr != nil {
		return nil, eerr
	}
	var missing []string
	for _, id := range ids {
		if known[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
	}
	// Owners: the account's own images match "self" and the account id;
	// none is Amazon's or a marketplace's.
	owners := strList(c.form, "Owner")
	ownerOK := len(owners) == 0 || slices.Contains(owners, "self") || slices.Contains(owners, s.o.AccountID)
	var out []imageXML
	for _, id := range sortedKeys(known) {
		im := known[id]
		if len(ids) > 0 && !slices.Contains(ids, id) || !ownerOK {
			continue
		}
		x := imageXML{
			ImageID: im.id, ImageLocation: s.o.AccountID + "/" + orDefault(im.name, im.id), State: "available",
			OwnerID: s.o.AccountID, CreationDate: fmtEC2Time(im.created), Architecture: "x86_64", ImageType: "machine",
			Name: orDefault(im.name, im.id), RootDeviceType: "ebs", RootDeviceName: "/dev/xvda", VirtualizationType: "hvm",
			Hypervisor: "xen", EnaSupport: true, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
		}
		keep := true
		for _, f := range filters(c.form) {
			ok, handled := matchTags(f, nil)
			if !handled {
				switch f.name {
				case "image-id":
					ok = f.matches(x.ImageID)
				case "name":
					ok = f.matches(x.Name)
				case "state":
					ok = f.matches(x.State)
				case "owner-id":
					ok = f.matches(x.OwnerID)
				case "architecture":
					ok = f.matches(x.Architecture)
				case "image-type":
					ok = f.matches(x.ImageType)
				case "is-public":
					ok = f.matches("false")
				case "root-device-type":
					ok = f.matches(x.RootDeviceType)
				case "virtualization-type":
					ok = f.matches(x.VirtualizationType)
				default:
					return nil, badFilter(f.name)
				}
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
	return &describeImagesXML{Images: items(out)}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// An attribute's answer is a <value> element, or a set for the lists.

type attrValueXML struct {
	Value string `xml:"value,omitempty"`
}

type attrBoolXML struct {
	Value bool `xml:"value"`
}

type instanceAttributeXML struct {
	XMLName xml.Name `xml:"DescribeInstanceAttributeResponse"`
	ec2Head
	InstanceID                        string                   `xml:"instanceId"`
	UserData                          *attrValueXML            `xml:"userData,omitempty"`
	InstanceType                      *attrValueXML            `xml:"instanceType,omitempty"`
	Kernel                            *attrValueXML            `xml:"kernel,omitempty"`
	Ramdisk                           *attrValueXML            `xml:"ramdisk,omitempty"`
	RootDeviceName                    *attrValueXML            `xml:"rootDeviceName,omitempty"`
	InstanceInitiatedShutdownBehavior *attrValueXML            `xml:"instanceInitiatedShutdownBehavior,omitempty"`
	SriovNetSupport                   *attrValueXML            `xml:"sriovNetSupport,omitempty"`
	DisableAPITermination             *attrBoolXML             `xml:"disableApiTermination,omitempty"`
	DisableAPIStop                    *attrBoolXML             `xml:"disableApiStop,omitempty"`
	SourceDestCheck                   *attrBoolXML             `xml:"sourceDestCheck,omitempty"`
	EbsOptimized                      *attrBoolXML             `xml:"ebsOptimized,omitempty"`
	EnaSupport                        *attrBoolXML             `xml:"enaSupport,omitempty"`
	BlockDeviceMapping                *itemSet[blockDeviceXML] `xml:"blockDeviceMapping,omitempty"`
	Groups                            *itemSet[struct{}]       `xml:"groupSet,omitempty"`
	ProductCodes                      *itemSet[struct{}]       `xml:"productCodes,omitempty"`
}

func (s *Server) ec2DescribeInstanceAttribute(c *ec2Call) (ec2Answer, *ec2Err) {
	id, attr := c.form.Get("InstanceId"), c.form.Get("Attribute")
	if id == "" {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	if attr == "" {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter attribute")
	}
	views, err := s.refresh(c.ctx)
	if err != nil {
		return nil, internalError(err)
	}
	picked, eerr := pickInstances(views, []string{id})
	if eerr != nil {
		return nil, eerr
	}
	v := picked[0]
	s.mu.Lock()
	userData := s.insts[id].userData
	s.mu.Unlock()
	x := &instanceAttributeXML{InstanceID: id}
	switch attr {
	case "userData":
		x.UserData = &attrValueXML{userData}
	case "instanceType":
		x.InstanceType = &attrValueXML{v.InstanceType}
	case "kernel":
		x.Kernel = &attrValueXML{}
	case "ramdisk":
		x.Ramdisk = &attrValueXML{}
	case "rootDeviceName":
		x.RootDeviceName = &attrValueXML{"/dev/xvda"}
	case "instanceInitiatedShutdownBehavior":
		x.InstanceInitiatedShutdownBehavior = &attrValueXML{"stop"}
	case "sriovNetSupport":
		x.SriovNetSupport = &attrValueXML{"simple"}
	case "disableApiTermination":
		x.DisableAPITermination = &attrBoolXML{false}
	case "disableApiStop":
		x.DisableAPIStop = &attrBoolXML{false}
	case "sourceDestCheck":
		x.SourceDestCheck = &attrBoolXML{true}
	case "ebsOptimized":
		x.EbsOptimized = &attrBoolXML{false}
	case "enaSupport":
		x.EnaSupport = &attrBoolXML{true}
	case "blockDeviceMapping":
		var bdm []blockDeviceXML
		if v.State != stateTerminated {
			for _, vol := range v.Volumes {
				bdm = append(bdm, blockDeviceXML{DeviceName: vol.Device, Ebs: ebsXML{
					VolumeID: vol.ID, Status: "attached", AttachTime: fmtEC2Time(v.LaunchTime), DeleteOnTermination: vol.DeleteOnTermination,
				}})
			}
		}
		x.BlockDeviceMapping = items(bdm)
	case "groupSet":
		x.Groups = items[struct{}](nil)
	case "productCodes":
		x.ProductCodes = items[struct{}](nil)
	default:
		return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	if c.dry {
		return nil, dryRun
	}
	return x, nil
}
