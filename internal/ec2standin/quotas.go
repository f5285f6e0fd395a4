package ec2standin

import "encoding/json"

// quotaCall answers Service Quotas' GetServiceQuota (JSON 1.1), the one
// call of that service the stand-in knows.
func (s *Server) quotaCall(c *call) (any, *apiError) {
	if c.action != "GetServiceQuota" {
		return nil, &apiError{Code: "UnknownOperationException", Message: "the stand-in implements GetServiceQuota only, not " + c.action, Status: 400}
	}
	var in struct{ ServiceCode, QuotaCode string }
	if err := json.Unmarshal(c.body, &in); err != nil {
		return nil, &apiError{Code: "SerializationException", Message: err.Error(), Status: 400}
	}
	v, ok := s.cfg.Quotas[in.QuotaCode]
	if in.ServiceCode != "ec2" || !ok {
		return nil, &apiError{Code: "NoSuchResourceException", Message: "The request failed because the specified service or quota does not exist: " + in.ServiceCode + "/" + in.QuotaCode, Status: 400}
	}
	name := quotaNames[in.QuotaCode]
	if name == "" {
		name = in.QuotaCode
	}
	type quota struct {
		ServiceCode, ServiceName, QuotaArn, QuotaCode, QuotaName, Unit string
		Value                                                          float64
		Adjustable, GlobalQuota                                        bool
	}
	return map[string]quota{"Quota": {
		ServiceCode: "ec2", ServiceName: "Amazon Elastic Compute Cloud (Amazon EC2)",
		QuotaArn:  "arn:aws:servicequotas:" + c.region + ":" + s.cfg.Account + ":ec2/" + in.QuotaCode,
		QuotaCode: in.QuotaCode, QuotaName: name, Unit: "None", Value: v, Adjustable: true,
	}}, nil
}
