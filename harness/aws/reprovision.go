package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ReplacesTagKey is set on a control plane Reprovision launched; its value
// is the instance it replaced.
const ReplacesTagKey = "kdrill/replaces"

// ReprovisionPlan is how the seed's option 1 would replace the control
// plane: a new instance from the control plane's launch template, or else
// from its AMI and settings, in a subnet the workers use in another zone.
type ReprovisionPlan struct {
	Replaces string // the control plane's instance id
	Node     string // its node name

	// LaunchTemplateID (and its Version) when the control plane came from
	// a launch template; otherwise the settings copied off the instance.
	LaunchTemplateID      string
	LaunchTemplateVersion string
	ImageID               string
	InstanceType          string
	KeyName               string
	InstanceProfileARN    string
	SecurityGroupIDs      []string

	SubnetID string
	Zone     string
	// Tags go on the new instance: the control plane's own, without the
	// node-name tag and the aws: tags EC2 reserves, plus ReplacesTagKey.
	Tags map[string]string
}

// String says where the new control plane would come from and go.
func (pl ReprovisionPlan) String() string {
	from := "AMI " + pl.ImageID
	if pl.LaunchTemplateID != "" {
		from = "launch template " + pl.LaunchTemplateID
		if pl.LaunchTemplateVersion != "" {
			from += " version " + pl.LaunchTemplateVersion
		}
	}
	return fmt.Sprintf("re-provision %s from %s into subnet %s (%s)", pl.Replaces, from, pl.SubnetID, pl.Zone)
}

// PlanReprovision works out a ReprovisionPlan without changing anything. It
// checks that the launch template or AMI still exists, and picks the
// workers' subnet, outside the control plane's zone when there is one, with
// the most workers.
func (p *Provider) PlanReprovision(ctx context.Context) (ReprovisionPlan, error) {
	cp, workers, err := p.cluster(ctx)
	if err != nil {
		return ReprovisionPlan{}, err
	}
	pl := ReprovisionPlan{Replaces: cp.ID, Node: cp.Node, Tags: map[string]string{ReplacesTagKey: cp.ID}}
	for k, v := range cp.Tags {
		if !strings.HasPrefix(k, "aws:") && k != NodeTagKey {
			pl.Tags[k] = v
		}
	}

	type candidate struct {
		subnet, zone string
		workers      int
	}
	bySubnet := map[string]*candidate{}
	for _, w := range workers {
		if w.SubnetID == "" {
			continue
		}
		c := bySubnet[w.SubnetID]
		if c == nil {
			c = &candidate{subnet: w.SubnetID, zone: w.Zone}
			bySubnet[w.SubnetID] = c
		}
		c.workers++
	}
	if len(bySubnet) == 0 {
		return ReprovisionPlan{}, fmt.Errorf("no worker subnet to re-provision the control plane into")
	}
	var cands []*candidate
	for _, c := range bySubnet {
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if (a.zone != cp.Zone) != (b.zone != cp.Zone) {
			return a.zone != cp.Zone
		}
		if a.workers != b.workers {
			return a.workers > b.workers
		}
		return a.subnet < b.subnet
	})
	pl.SubnetID, pl.Zone = cands[0].subnet, cands[0].zone

	if lt := cp.Tags[launchTemplateTagKey]; lt != "" {
		pl.LaunchTemplateID, pl.LaunchTemplateVersion = lt, cp.Tags[launchTemplateVersionTagKey]
		out, err := p.ec2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{lt}})
		if err != nil || len(out.LaunchTemplates) == 0 {
			return ReprovisionPlan{}, fmt.Errorf("the control plane's launch template %s: %w", lt, orGone(p.classify(err)))
		}
		return pl, nil
	}
	raw := cp.raw
	pl.ImageID = awssdk.ToString(raw.ImageId)
	pl.InstanceType = string(raw.InstanceType)
	pl.KeyName = awssdk.ToString(raw.KeyName)
	if raw.IamInstanceProfile != nil {
		pl.InstanceProfileARN = awssdk.ToString(raw.IamInstanceProfile.Arn)
	}
	for _, g := range raw.SecurityGroups {
		pl.SecurityGroupIDs = append(pl.SecurityGroupIDs, awssdk.ToString(g.GroupId))
	}
	if pl.ImageID == "" {
		return ReprovisionPlan{}, fmt.Errorf("control plane %s has neither a launch template nor an AMI to re-provision from", cp.ID)
	}
	out, err := p.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{pl.ImageID}})
	if err != nil || len(out.Images) == 0 {
		return ReprovisionPlan{}, fmt.Errorf("the control plane's AMI %s: %w", pl.ImageID, orGone(p.classify(err)))
	}
	return pl, nil
}

func orGone(err error) error {
	if err == nil {
		return fmt.Errorf("it no longer exists")
	}
	return err
}

// Reprovision launches the replacement control plane the plan describes and
// returns its instance id. Instances launched from an AMI get the old
// instance's user data too. The old instance's role tag is then set to
// RoleRetired, so the provider's node list holds the new control plane
// only. Restoring etcd onto it (RestoreEtcd) is the caller's next step.
func (p *Provider) Reprovision(ctx context.Context, pl ReprovisionPlan) (string, error) {
	in := &ec2.RunInstancesInput{
		MinCount: awssdk.Int32(1),
		MaxCount: awssdk.Int32(1),
		SubnetId: awssdk.String(pl.SubnetID),
	}
	keys := make([]string, 0, len(pl.Tags))
	for k := range pl.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeInstance}
	for _, k := range keys {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(pl.Tags[k])})
	}
	in.TagSpecifications = []ec2types.TagSpecification{spec}
	if pl.LaunchTemplateID != "" {
		in.LaunchTemplate = &ec2types.LaunchTemplateSpecification{LaunchTemplateId: awssdk.String(pl.LaunchTemplateID)}
		if pl.LaunchTemplateVersion != "" {
			in.LaunchTemplate.Version = awssdk.String(pl.LaunchTemplateVersion)
		}
	} else {
		in.ImageId = awssdk.String(pl.ImageID)
		in.InstanceType = ec2types.InstanceType(pl.InstanceType)
		if pl.KeyName != "" {
			in.KeyName = awssdk.String(pl.KeyName)
		}
		if pl.InstanceProfileARN != "" {
			in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Arn: awssdk.String(pl.InstanceProfileARN)}
		}
		in.SecurityGroupIds = pl.SecurityGroupIDs
		ud, err := p.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
			InstanceId: awssdk.String(pl.Replaces),
			Attribute:  ec2types.InstanceAttributeNameUserData,
		})
		if err != nil {
			return "", p.classify(fmt.Errorf("read the user data of %s: %w", pl.Replaces, err))
		}
		if ud.UserData != nil && awssdk.ToString(ud.UserData.Value) != "" {
			in.UserData = ud.UserData.Value // base64 both ways
		}
	}
	out, err := p.ec2.RunInstances(ctx, in)
	if err != nil {
		return "", p.classify(fmt.Errorf("%s: %w", pl, err))
	}
	if len(out.Instances) != 1 {
		return "", fmt.Errorf("%s: EC2 launched %d instances", pl, len(out.Instances))
	}
	id := awssdk.ToString(out.Instances[0].InstanceId)
	_, err = p.ec2.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{pl.Replaces},
		Tags:      []ec2types.Tag{{Key: awssdk.String(p.o.RoleTagKey), Value: awssdk.String(RoleRetired)}},
	})
	if err != nil {
		return id, p.classify(fmt.Errorf("launched %s, but could not retire %s (tag it %s=%s by hand): %w", id, pl.Replaces, p.o.RoleTagKey, RoleRetired, err))
	}
	return id, nil
}
