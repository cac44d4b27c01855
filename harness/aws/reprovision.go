package aws

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kdrill/kdrill/faults"
	"github.com/kdrill/kdrill/harness"
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
	// aws: tags EC2 reserves, plus ReplacesTagKey and NodeTagKey with the
	// control plane's node name.
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
	// The new instance keeps the node name: the restored kubelet
	// credentials and the etcd member are that node's.
	pl := ReprovisionPlan{Replaces: cp.ID, Node: cp.Node, Tags: map[string]string{ReplacesTagKey: cp.ID, NodeTagKey: cp.Node}}
	for k, v := range cp.Tags {
		if !strings.HasPrefix(k, "aws:") {
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
	// The node name now belongs to the new instance.
	p.mu.Lock()
	delete(p.ids, pl.Node)
	p.mu.Unlock()
	return id, nil
}

// controlPlaneFolder holds, under the backup prefix, the tarballs of the
// control plane's files; snapshot listings leave it out.
const controlPlaneFolder = "control-plane/"

// heldManifests is where the restore runbooks keep the static-pod
// manifests while etcd's data is put back (restoreBody's $held).
const heldManifests = "/etc/kubernetes/kdrill-held"

// PartitionFault is the network partition on AWS: network ACL entries
// between the control plane's subnet and the workers' (NACLPartition).
func (p *Provider) PartitionFault() faults.Fault { return NACLPartition{} }

// BackupControlPlaneFiles copies the control plane's certificates and
// configuration (faults.ControlPlaneTarScript) off the node into the
// snapshot bucket, under <prefix>control-plane/, the way BackupEtcd does:
// the node uploads the tarball through a presigned PUT. It returns the
// object's key. The tarball holds the cluster's CA keys: the bucket must be
// kept as close as the etcd snapshots, which hold every Secret.
func (p *Provider) BackupControlPlaneFiles(ctx context.Context, node string) (string, error) {
	store, err := p.Snapshots()
	if err != nil {
		return "", err
	}
	key := store.Prefix + controlPlaneFolder + strconv.FormatInt(time.Now().UnixNano(), 10) + ".tar.gz"
	url, err := store.PresignPut(ctx, key, restoreURLTTL)
	if err != nil {
		return "", err
	}
	script := "set -eu\nurl=" + shellQuote(url) + "\ntarball=$(mktemp)\ntrap 'rm -f \"$tarball\"' EXIT\n(" +
		faults.ControlPlaneTarScript(`"$tarball"`) + ")\ntest -s \"$tarball\"\ncurl -sSf --retry 2 -X PUT -H 'Content-Type: application/gzip' -T \"$tarball\" \"$url\" >/dev/null\n"
	if _, err := p.Exec(ctx, node, "sh", "-c", script); err != nil {
		return "", fmt.Errorf("back up the control plane's files on %s to s3://%s/%s: %w", node, store.Bucket, key, err)
	}
	return key, nil
}

// ReprovisionControlPlane is the seed's option 1 on EC2, for a control
// plane that is fenced off already (stopped): launch a replacement into
// the workers' subnet (PlanReprovision, Reprovision), wait until it takes
// SSM commands, restore the control plane's files from r.Backup (a
// BackupControlPlaneFiles key) with its new address written in and the
// certificates naming it reissued, then etcd's data from r.Snapshot (an
// etcd snapshot's key) with RestoreEtcd, which starts etcd and the API
// server. It returns the new node.
//
// The replacement must come up as the same node: its launch template gives
// it the old node name as hostname, and points the API server's endpoint
// (the DNS name in the workers' kubeconfigs) at it, as user data that
// updates a DNS record does. kubeadm on the instance reissues the
// certificates from /kind/kubeadm.conf, kind's kubeadm config, where the
// backup has one.
func (p *Provider) ReprovisionControlPlane(ctx context.Context, r faults.Reprovision) (harness.Node, error) {
	step := r.Step
	if step == nil {
		step = func(string) {}
	}
	node := r.Old.Name
	pl, err := p.PlanReprovision(ctx)
	if err != nil {
		return harness.Node{}, err
	}
	if pl.Node != node {
		return harness.Node{}, fmt.Errorf("the control plane is node %s now, not %s", pl.Node, node)
	}
	step(pl.String())
	id, err := p.Reprovision(ctx, pl)
	if err != nil {
		return harness.Node{}, err
	}

	step("wait for " + id + " to run and take commands")
	var fresh harness.Node
	deadline := time.Now().Add(4 * time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := p.Exec(cctx, node, "true")
		cancel()
		if err == nil {
			nodes, nerr := p.Nodes(ctx)
			if nerr != nil {
				return harness.Node{}, nerr
			}
			for _, n := range nodes {
				if n.Name == node {
					fresh = n
				}
			}
			if fresh.Address != "" {
				break
			}
			err = fmt.Errorf("it has no private address")
		}
		if ctx.Err() != nil {
			return harness.Node{}, ctx.Err()
		}
		if time.Now().After(deadline) {
			return harness.Node{}, fmt.Errorf("the new control plane %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return harness.Node{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}

	step("restore the certificates and configuration from " + r.Backup)
	store, err := p.Snapshots()
	if err != nil {
		return fresh, err
	}
	url, err := store.PresignGet(ctx, r.Backup, restoreURLTTL)
	if err != nil {
		return fresh, err
	}
	unpack := "curl -fsS --retry 3 " + shellQuote(url) + " | tar -xzf -"
	if _, err := p.Exec(ctx, node, "sh", "-c", faults.ControlPlaneRestoreScript(unpack, r.Old, fresh, r.Old.Zone, fresh.Zone, heldManifests)); err != nil {
		return fresh, fmt.Errorf("restore the control plane's files on %s (%s): %w", node, id, err)
	}

	step("restore etcd's data from " + r.Snapshot)
	if err := p.RestoreEtcd(ctx, node, Snapshot{Key: r.Snapshot}); err != nil {
		return fresh, err
	}
	// RestoreEtcd started etcd and the API server; the scheduler and the
	// controller manager follow.
	start := "set -e; for m in " + heldManifests + "/*.yaml; do if [ -f \"$m\" ]; then mv \"$m\" /etc/kubernetes/manifests/; fi; done"
	if _, err := p.Exec(ctx, node, "sh", "-c", start); err != nil {
		return fresh, fmt.Errorf("start the rest of the control plane on %s: %w", node, err)
	}
	return fresh, nil
}
