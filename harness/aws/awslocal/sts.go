package awslocal

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
)

// stsNamespace is the XML namespace of STS's query-protocol answers.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// scopeService reads the service out of a SigV4 credential scope:
// Credential=AKID/date/region/service/aws4_request.
var scopeService = regexp.MustCompile(`Credential=[^/,]+/[0-9]+/[^/,]+/([^/,]+)/aws4_request`)

// signedFor is the service a request was signed for, "" if unsigned.
func signedFor(r *http.Request) string {
	m := scopeService.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return ""
	}
	return m[1]
}

type stsErrorXML struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

type stsCallerIdentityXML struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// serveSTS answers STS's GetCallerIdentity, the one STS call kdrill
// makes: which account the credentials belong to. Other actions are
// refused as STS refuses an unknown one.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	fail := func(status int, code, msg string) {
		var x stsErrorXML
		x.Xmlns, x.RequestID = stsNamespace, reqID
		x.Error.Type, x.Error.Code, x.Error.Message = "Sender", code, msg
		writeXML(w, status, x)
	}
	body, hash, err := readRPCBody(r)
	if err != nil {
		fail(http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if aerr := s.verify(r, "sts", hash); aerr != nil {
		code := "SignatureDoesNotMatch"
		if aerr.kind == authUnknownKey {
			code = "InvalidClientTokenId"
		}
		fail(http.StatusForbidden, code, aerr.msg)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "GetCallerIdentity" {
		fail(http.StatusBadRequest, "InvalidAction", "Could not find operation "+form.Get("Action")+" for version "+form.Get("Version"))
		return
	}
	var x stsCallerIdentityXML
	x.Xmlns, x.RequestID = stsNamespace, reqID
	x.Result.Account = s.o.AccountID
	x.Result.Arn = "arn:aws:iam::" + s.o.AccountID + ":user/awslocal"
	x.Result.UserID = s.o.AccessKeyID
	writeXML(w, http.StatusOK, x)
}
