package awslocal

import (
	"encoding/base64"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestDescribeImages(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	const ami = "ami-0123456789abcdef0" // every LocalBackend machine's
	out, err := f.c.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 {
		t.Fatalf("images %+v", out.Images)
	}
	im := out.Images[0]
	if aws.ToString(im.ImageId) != ami || im.State != types.ImageStateAvailable || aws.ToString(im.OwnerId) != DefaultAccountID ||
		aws.ToBool(im.Public) || im.RootDeviceType != types.DeviceTypeEbs || aws.ToString(im.CreationDate) == "" {
		t.Errorf("image %+v", im)
	}
	tests := []struct {
		name string
		in   ec2.DescribeImagesInput
		want []string
		code string
	}{
		{"all", ec2.DescribeImagesInput{}, []string{ami}, ""},
		{"own", ec2.DescribeImagesInput{Owners: []string{"self"}}, []string{ami}, ""},
		{"Amazon's", ec2.DescribeImagesInput{Owners: []string{"amazon"}}, nil, ""},
		{"by filter", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("state"), Values: []string{"available"}}}}, []string{ami}, ""},
		{"unknown", ec2.DescribeImagesInput{ImageIds: []string{"ami-0fffffffffffffff0"}}, nil, "InvalidAMIID.NotFound"},
		{"malformed", ec2.DescribeImagesInput{ImageIds: []string{"img-1"}}, nil, "InvalidAMIID.Malformed"},
		{"bad filter", ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"blue"}}}}, nil, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.c.ec2.DescribeImages(ctx, &tt.in)
			if got := apiCode(err); got != tt.code {
				t.Fatalf("error %v (code %q), want %q", err, got, tt.code)
			}
			if err != nil {
				return
			}
			var ids []string
			for _, im := range out.Images {
				ids = append(ids, aws.ToString(im.ImageId))
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("images %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestDescribeInstanceAttribute(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	attr := func(id string, name types.InstanceAttributeName) *ec2.DescribeInstanceAttributeOutput {
		t.Helper()
		out, err := f.c.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: name})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.InstanceId) != id {
			t.Errorf("instance id %q", aws.ToString(out.InstanceId))
		}
		return out
	}
	// A machine the backend made has no user data.
	if out := attr(f.cp, types.InstanceAttributeNameUserData); out.UserData == nil || aws.ToString(out.UserData.Value) != "" {
		t.Errorf("user data of a backend machine: %+v", out.UserData)
	}
	if out := attr(f.cp, types.InstanceAttributeNameInstanceType); aws.ToString(out.InstanceType.Value) != "t3.medium" {
		t.Errorf("instance type %+v", out.InstanceType)
	}
	if out := attr(f.cp, types.InstanceAttributeNameBlockDeviceMapping); len(out.BlockDeviceMappings) != 2 ||
		aws.ToString(out.BlockDeviceMappings[1].DeviceName) != "/dev/sdf" || aws.ToBool(out.BlockDeviceMappings[1].Ebs.DeleteOnTermination) {
		t.Errorf("block devices %+v", out.BlockDeviceMappings)
	}
	if out := attr(f.cp, types.InstanceAttributeNameDisableApiTermination); out.DisableApiTermination == nil || aws.ToBool(out.DisableApiTermination.Value) {
		t.Errorf("disableApiTermination %+v", out.DisableApiTermination)
	}

	// RunInstances keeps the user data it was given, base64 as sent.
	script := base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\nkubeadm join\n"))
	run, err := f.c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		ImageId: aws.String("ami-0123456789abcdef0"), UserData: aws.String(script)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if out := attr(id, types.InstanceAttributeNameUserData); aws.ToString(out.UserData.Value) != script {
		t.Errorf("user data %q, want %q", aws.ToString(out.UserData.Value), script)
	}
	if _, err := f.c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		ImageId: aws.String("ami-0123456789abcdef0"), UserData: aws.String("not base64!")}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("user data not in base64: %v", err)
	}

	if _, err := f.c.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(f.cp), Attribute: "colour"}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("unknown attribute: %v", err)
	}
	if _, err := f.c.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String("i-0123456789abcdef0"),
		Attribute: types.InstanceAttributeNameUserData}); apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("unknown instance: %v", err)
	}
}

func TestCreateTags(t *testing.T) {
	f := newFixture(t, nil)
	ctx := testContext(t)
	byRole := func(role string) []string {
		t.Helper()
		out, err := f.c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:kdrill/cluster"), Values: []string{"test"}},
			{Name: aws.String("tag:kdrill/role"), Values: []string{role}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return instanceIDs(out)
	}
	retire := &ec2.CreateTagsInput{Resources: []string{f.cp}, Tags: []types.Tag{
		{Key: aws.String("kdrill/role"), Value: aws.String("retired")},
		{Key: aws.String("kdrill/replaces"), Value: aws.String("nothing")},
	}}

	// A dry run checks and changes nothing.
	dry := *retire
	dry.DryRun = aws.Bool(true)
	if _, err := f.c.ec2.CreateTags(ctx, &dry); apiCode(err) != "DryRunOperation" {
		t.Errorf("dry run: %v", err)
	}
	if got := byRole("control-plane"); !slices.Equal(got, []string{f.cp}) {
		t.Fatalf("control planes before tagging %v", got)
	}

	if _, err := f.c.ec2.CreateTags(ctx, retire); err != nil {
		t.Fatal(err)
	}
	// The new value replaces the backend's, in answers and in filters.
	if got := byRole("control-plane"); len(got) != 0 {
		t.Errorf("control planes after retiring: %v", got)
	}
	if got := byRole("retired"); !slices.Equal(got, []string{f.cp}) {
		t.Errorf("retired: %v", got)
	}
	out, err := f.c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{f.cp}})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range out.Reservations[0].Instances[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["kdrill/role"] != "retired" || tags["kdrill/replaces"] != "nothing" || tags["Name"] != "cp" || tags["kdrill/cluster"] != "test" {
		t.Errorf("tags %v", tags)
	}

	tests := []struct {
		name string
		in   ec2.CreateTagsInput
		code string
	}{
		{"reserved key", ec2.CreateTagsInput{Resources: []string{f.cp}, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}, "InvalidParameterValue"},
		{"unknown instance", ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, "InvalidInstanceID.NotFound"},
		{"not an instance", ec2.CreateTagsInput{Resources: []string{"subnet-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}, "InvalidID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.c.ec2.CreateTags(ctx, &tt.in); apiCode(err) != tt.code {
				t.Errorf("error %v, want %s", err, tt.code)
			}
		})
	}
}
