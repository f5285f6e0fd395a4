package ec2standin

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiError is an error as EC2 (or Service Quotas) reports it.
type apiError struct {
	Code, Message string
	Status        int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: statusOf(code)}
}

// statusOf is the HTTP status EC2 answers an error code with: its server
// errors are 5xx (and the SDK retries them), its client errors 4xx.
func statusOf(code string) int {
	switch code {
	case "RequestLimitExceeded", "Unavailable", "ServiceUnavailable":
		return http.StatusServiceUnavailable
	case "InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientAddressCapacity", "InsufficientHostCapacity", "InternalError":
		return http.StatusInternalServerError
	case "DryRunOperation":
		return http.StatusPreconditionFailed
	case "AuthFailure", "UnrecognizedClientException", "InvalidSignatureException":
		return http.StatusUnauthorized
	case "UnauthorizedOperation", "AccessDeniedException":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// FailRule makes the next Count calls of Action fail with Code (the
// control API's "fail").
type FailRule struct {
	Action  string `json:"action"` // e.g. RunInstances, GetServiceQuota
	Code    string `json:"code"`   // e.g. InsufficientInstanceCapacity
	Count   int    `json:"count"`  // default 1
	Message string `json:"message,omitempty"`
	Status  int    `json:"status,omitempty"` // default: the status EC2 gives the code
}

// call is one request to the API, parsed and authenticated.
type call struct {
	action string
	region string
	form   url.Values
	body   []byte
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "ec2-standin (test double): read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	quotas := strings.HasPrefix(target, "ServiceQuotasV20190624.")
	fail := s.writeEC2Error
	if quotas {
		fail = writeJSONError
	}
	region, aerr := verifySigV4(r, body, s.cfg.AccessKeyID, s.cfg.SecretAccessKey)
	if aerr != nil {
		if quotas {
			aerr.Code = "UnrecognizedClientException" // Service Quotas' name for it
		}
		fail(w, aerr)
		return
	}
	c := &call{region: region, body: body}
	if quotas {
		c.action = strings.TrimPrefix(target, "ServiceQuotasV20190624.")
	} else {
		if c.form, err = url.ParseQuery(string(body)); err != nil {
			fail(w, errf("InvalidParameterValue", "the request body is not a form: %v", err))
			return
		}
		for k, v := range r.URL.Query() {
			c.form[k] = append(c.form[k], v...)
		}
		c.action = c.form.Get("Action")
		if v := c.form.Get("Version"); v != "2016-11-15" {
			fail(w, errf("InvalidParameterValue", "Version %q: the stand-in speaks 2016-11-15", v))
			return
		}
	}
	if !s.cfg.hasRegion(region) {
		fail(w, errf("AuthFailure", "the request is signed for region %s, which this stand-in does not serve (it serves %s)", region, strings.Join(s.cfg.Regions, ", ")))
		return
	}
	if rule, ok := s.count(c.action); ok {
		msg := rule.Message
		if msg == "" {
			msg = defaultMessages[rule.Code]
		}
		if msg == "" {
			msg = "the stand-in was told to fail this call"
		}
		e := &apiError{Code: rule.Code, Message: msg, Status: rule.Status}
		if e.Status == 0 {
			e.Status = statusOf(rule.Code)
		}
		fail(w, e)
		return
	}
	var out any
	var cerr *apiError
	if quotas {
		out, cerr = s.quotaCall(c)
	} else {
		h, ok := ec2Actions[c.action]
		if !ok {
			cerr = errf("InvalidAction", "The action %s is not valid for this web service (the stand-in implements: %s).", c.action, strings.Join(actionNames(), ", "))
		} else {
			out, cerr = h(s, c)
		}
	}
	if cerr != nil {
		fail(w, cerr)
		return
	}
	if quotas {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(out)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(out); err != nil {
		fail(w, errf("InternalError", "encode the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Write(buf.Bytes())
}

var defaultMessages = map[string]string{
	"InsufficientInstanceCapacity": "We currently do not have sufficient capacity in the Availability Zone you requested. Our system will be working on provisioning additional capacity.",
	"RequestLimitExceeded":         "Request limit exceeded.",
	"MaxSpotInstanceCountExceeded": "Max spot instance count exceeded",
	"UnauthorizedOperation":        "You are not authorized to perform this operation.",
}

// Call is one call the API received, in the timed call log.
type Call struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	Code   string    `json:"code,omitempty"` // the error a failure rule made it answer; "" otherwise
}

// maxCallLog bounds the timed call log (the counts go on).
const maxCallLog = 100000

// count records a call of action and says whether a failure rule takes it.
func (s *Server) count(action string) (FailRule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	c := Call{Action: action, At: time.Now()}
	defer func() {
		if len(s.callLog) < maxCallLog {
			s.callLog = append(s.callLog, c)
		}
	}()
	rules := s.fails[action]
	if len(rules) == 0 {
		return FailRule{}, false
	}
	r := rules[0]
	c.Code = r.Code
	rules[0].Count--
	if rules[0].Count <= 0 {
		rules = rules[1:]
	}
	s.fails[action] = rules
	return r, true
}

func (s *Server) writeEC2Error(w http.ResponseWriter, e *apiError) {
	type xErr struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type resp struct {
		XMLName   xml.Name `xml:"Response"`
		Errors    []xErr   `xml:"Errors>Error"`
		RequestID string   `xml:"RequestID"`
	}
	b, _ := xml.Marshal(resp{Errors: []xErr{{e.Code, e.Message}}, RequestID: requestID()})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	w.Write(b)
	s.log.Info("ec2-standin (test double): error", "code", e.Code, "status", e.Status)
}

func writeJSONError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

func requestID() string {
	id := newID("r")[2:]
	return id[:8] + "-" + id[8:12] + "-4" + id[13:16] + "-a" + id[12:13] + id[16:17] + "0-000000000000"
}

// Helpers to read the Query protocol's flattened lists: Name.1, Name.2, ...

// list is the values of name.1, name.2, ...
func list(f url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[name+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// filter is an EC2 filter: a name and the values it matches (wildcards *
// and ? allowed).
type filter struct {
	Name   string
	Values []string
}

func filters(f url.Values) []filter {
	var out []filter
	for i := 1; ; i++ {
		p := "Filter." + strconv.Itoa(i)
		name, ok := f[p+".Name"]
		if !ok {
			return out
		}
		out = append(out, filter{Name: name[0], Values: list(f, p+".Value")})
	}
}

// matchFilters says whether the item matches every filter; get gives the
// item's values for a filter name, ok false for a name it does not know.
func matchFilters(fs []filter, get func(name string) (vals []string, ok bool)) (bool, *apiError) {
	for _, fl := range fs {
		vals, ok := get(fl.Name)
		if !ok {
			return false, errf("InvalidParameterValue", "The filter '%s' is invalid", fl.Name)
		}
		hit := false
		for _, want := range fl.Values {
			for _, v := range vals {
				if wildcard(want, v) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// pick keeps the items that match every filter; fields gives an item's
// values by filter name.
func pick[T any](items []T, fs []filter, fields func(T) map[string]string) ([]T, *apiError) {
	var out []T
	for _, it := range items {
		m := fields(it)
		ok, err := matchFilters(fs, func(name string) ([]string, bool) {
			v, known := m[name]
			return []string{v}, known
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// wildcard matches s against pattern p, where * is any run and ? any one
// character (EC2's filter values).
func wildcard(p, s string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcard(p[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcard(p[1:], s[1:])
	}
	return s != "" && s[0] == p[0] && wildcard(p[1:], s[1:])
}

// page cuts items to one page: from the offset in token, at most max
// (0: def). next is "" on the last page.
func page[T any](items []T, f url.Values, def int) ([]T, string, *apiError) {
	max := def
	if v := f.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, "", errf("InvalidParameterValue", "MaxResults %q must be a positive number", v)
		}
		max = n
	}
	from := 0
	if t := f.Get("NextToken"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "standin-"))
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errf("InvalidNextToken", "The token '%s' is invalid.", t)
		}
		from = n
	}
	to := min(from+max, len(items))
	next := ""
	if to < len(items) {
		next = "standin-" + strconv.Itoa(to)
	}
	return items[from:to], next, nil
}

func boolParam(f url.Values, name string) bool { return strings.EqualFold(f.Get(name), "true") }
