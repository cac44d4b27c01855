package awslocal

import (
	"net/http"
	"strings"
)

// maxTags is how many tags EC2 lets a resource have.
const maxTags = 50

// ec2CreateTags tags instances. The tags live in the server's record of
// each instance (the backend's machines keep theirs), win over the
// backend's tags of the same key, show in DescribeInstances and its tag
// filters, and last as long as the server.
func (s *Server) ec2CreateTags(c *ec2Call) (ec2Answer, *ec2Err) {
	ids := strList(c.form, "ResourceId")
	if len(ids) == 0 {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter resourceIdSet")
	}
	tags := map[string]string{}
	for _, t := range members(c.form, "Tag") {
		k, v := t.Get("Key"), t.Get("Value")
		switch {
		case k == "":
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag keys cannot be empty")
		case strings.HasPrefix(k, "aws:"):
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		case len(k) > 128:
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
		case len(v) > 256:
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
		}
		tags[k] = v
	}
	if len(tags) == 0 {
		return nil, ec2Errorf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter tagSet")
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "i-") {
			return nil, ec2Errorf(http.StatusBadRequest, "InvalidID", "The ID '%s' is not valid here: awslocal tags instances only", id)
		}
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
		n := len(v.Tags)
		for k := range tags {
			if _, has := v.Tags[k]; !has {
				n++
			}
		}
		if n > maxTags {
			return nil, ec2Errorf(http.StatusBadRequest, "TagLimitExceeded", "The maximum number of tags (%d) for resource %s has been reached.", maxTags, v.ID)
		}
	}
	if c.dry {
		return nil, dryRun
	}
	s.mu.Lock()
	for _, v := range picked {
		rec := s.insts[v.ID]
		if rec.tags == nil {
			rec.tags = map[string]string{}
		}
		for k, val := range tags {
			rec.tags[k] = val
		}
	}
	s.mu.Unlock()
	return &returnXML{XMLName: xmlName("CreateTagsResponse"), Return: true}, nil
}
