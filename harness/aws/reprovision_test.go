package aws

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// tagsOf reads TagSpecification.1's tags out of a RunInstances form.
func tagsOf(form url.Values, prefix string) map[string]string {
	tags := map[string]string{}
	for i := 1; form.Get(fmt.Sprintf("%sTag.%d.Key", prefix, i)) != ""; i++ {
		tags[form.Get(fmt.Sprintf("%sTag.%d.Key", prefix, i))] = form.Get(fmt.Sprintf("%sTag.%d.Value", prefix, i))
	}
	return tags
}

func TestReprovisionFromLaunchTemplate(t *testing.T) {
	f := newFakeAWS(t)
	cp := cpFixture
	cp.Tags = map[string]string{"aws:ec2launchtemplate:id": "lt-0cp", "aws:ec2launchtemplate:version": "3", "Name": "drill-cp", "kdrill/node": "cp"}
	w3 := fixtureInstance{ID: "i-0w3", Role: "worker", DNS: "ip-10-0-3-13.ec2.internal", Zone: "us-east-1c", Subnet: "subnet-c", IP: "10.0.3.13"}
	f.setInstances(cp, w1Fixture, w2Fixture, w3)
	p := openFake(t, f, testOptions(f))
	f.on("ec2:DescribeLaunchTemplates", func(call) reply {
		return ec2OK("DescribeLaunchTemplates", "<launchTemplates><item><launchTemplateId>lt-0cp</launchTemplateId></item></launchTemplates>")
	})
	ctx := testContext(t)
	pl, err := p.PlanReprovision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// subnet-b has two workers, subnet-c one.
	if pl.SubnetID != "subnet-b" || pl.Zone != "us-east-1b" || pl.LaunchTemplateID != "lt-0cp" || pl.LaunchTemplateVersion != "3" || pl.ImageID != "" {
		t.Errorf("plan = %+v", pl)
	}
	if s := pl.String(); s != "re-provision i-0cp from launch template lt-0cp version 3 into subnet subnet-b (us-east-1b)" {
		t.Errorf("plan reads %q", s)
	}

	f.on("ec2:RunInstances", func(call) reply {
		return ec2OK("RunInstances", "<reservationId>r-2</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>i-0new</instanceId><instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet>")
	})
	f.on("ec2:CreateTags", func(call) reply { return ec2OK("CreateTags", "<return>true</return>") })
	id, err := p.Reprovision(ctx, pl)
	if err != nil {
		t.Fatal(err)
	}
	if id != "i-0new" {
		t.Errorf("Reprovision = %s", id)
	}
	run := f.callsTo("ec2:RunInstances")[0].Form
	for k, v := range map[string]string{
		"MinCount": "1", "MaxCount": "1", "SubnetId": "subnet-b",
		"LaunchTemplate.LaunchTemplateId": "lt-0cp", "LaunchTemplate.Version": "3",
		"TagSpecification.1.ResourceType": "instance",
		"ImageId":                         "", "InstanceType": "", "UserData": "",
	} {
		if got := run.Get(k); got != v {
			t.Errorf("RunInstances %s = %q, want %q", k, got, v)
		}
	}
	if run.Get("ClientToken") == "" {
		t.Error("RunInstances without a client token: a retried call could launch two control planes")
	}
	tags := tagsOf(run, "TagSpecification.1.")
	want := map[string]string{"kdrill/cluster": "drill", "kdrill/role": "control-plane", "Name": "drill-cp", "kdrill/replaces": "i-0cp", "kdrill/node": "cp"}
	if fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("new instance tags = %v, want %v", tags, want)
	}
	retire := f.callsTo("ec2:CreateTags")[0].Form
	if retire.Get("ResourceId.1") != "i-0cp" || retire.Get("ResourceId.2") != "" || fmt.Sprint(tagsOf(retire, "")) != "map[kdrill/role:retired]" {
		t.Errorf("CreateTags form = %v", retire)
	}
}

func TestReprovisionFromAMI(t *testing.T) {
	f := newFakeAWS(t)
	cp := cpFixture
	cp.Extra = "<keyName>ops</keyName><iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/cp</arn><id>AIPA</id></iamInstanceProfile>" +
		"<groupSet><item><groupId>sg-1</groupId><groupName>cp</groupName></item><item><groupId>sg-2</groupId><groupName>k8s</groupName></item></groupSet>"
	f.setInstances(cp, w1Fixture)
	p := openFake(t, f, testOptions(f))
	f.on("ec2:DescribeImages", func(c call) reply {
		if c.Form.Get("ImageId.1") != "ami-0cp" {
			t.Errorf("DescribeImages form = %v", c.Form)
		}
		return ec2OK("DescribeImages", "<imagesSet><item><imageId>ami-0cp</imageId><imageState>available</imageState></item></imagesSet>")
	})
	f.on("ec2:DescribeInstanceAttribute", func(c call) reply {
		if c.Form.Get("Attribute") != "userData" || c.Form.Get("InstanceId") != "i-0cp" {
			t.Errorf("DescribeInstanceAttribute form = %v", c.Form)
		}
		return ec2OK("DescribeInstanceAttribute", "<instanceId>i-0cp</instanceId><userData><value>IyEvYmluL3NoCmt1YmVhZG0gaW5pdAo=</value></userData>")
	})
	f.on("ec2:RunInstances", func(call) reply {
		return ec2OK("RunInstances", "<reservationId>r-2</reservationId><instancesSet><item><instanceId>i-0new</instanceId></item></instancesSet>")
	})
	f.on("ec2:CreateTags", func(call) reply { return ec2OK("CreateTags", "<return>true</return>") })
	ctx := testContext(t)
	pl, err := p.PlanReprovision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Reprovision(ctx, pl); err != nil {
		t.Fatal(err)
	}
	run := f.callsTo("ec2:RunInstances")[0].Form
	for k, v := range map[string]string{
		"ImageId": "ami-0cp", "InstanceType": "m5.large", "KeyName": "ops", "SubnetId": "subnet-b",
		"IamInstanceProfile.Arn": "arn:aws:iam::123456789012:instance-profile/cp",
		"SecurityGroupId.1":      "sg-1", "SecurityGroupId.2": "sg-2",
		"UserData":                        "IyEvYmluL3NoCmt1YmVhZG0gaW5pdAo=",
		"LaunchTemplate.LaunchTemplateId": "",
	} {
		if got := run.Get(k); got != v {
			t.Errorf("RunInstances %s = %q, want %q", k, got, v)
		}
	}
}

func TestPlanReprovisionNeedsAWorkerSubnet(t *testing.T) {
	f := newFakeAWS(t)
	f.setInstances(cpFixture)
	p := openFake(t, f, testOptions(f))
	if _, err := p.PlanReprovision(testContext(t)); err == nil || !strings.Contains(err.Error(), "no worker subnet") {
		t.Errorf("PlanReprovision without workers: %v", err)
	}
}
