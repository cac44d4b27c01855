package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Account is the AWS account the credentials belong to, as STS says
// (GetCallerIdentity, which needs no permission): what the guard compares
// with the config's allow-listed account before anything is touched.
func (p *Provider) Account(ctx context.Context) (string, error) {
	out, err := p.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", p.classify(fmt.Errorf("ask STS which account the credentials belong to: %w", err))
	}
	return awssdk.ToString(out.Account), nil
}
