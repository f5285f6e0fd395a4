package s3conn

import "testing"

func TestRegionOf(t *testing.T) {
	for host, want := range map[string]string{
		"s3.eu-west-2.amazonaws.com":            "eu-west-2",
		"s3-eu-west-2.amazonaws.com":            "eu-west-2",
		"s3.dualstack.ap-south-1.amazonaws.com": "ap-south-1",
		"lab.s3.us-west-2.amazonaws.com":        "us-west-2",
		"s3.cn-north-1.amazonaws.com.cn":        "cn-north-1",
		"s3-external-1.amazonaws.com":           "us-east-1",
		"s3.amazonaws.com":                      "",
		"127.0.0.1":                             "",
		"minio.lab.example":                     "",
		"storage.googleapis.com":                "",
	} {
		if got := RegionOf(host); got != want {
			t.Errorf("RegionOf(%q) = %q, want %q", host, got, want)
		}
	}
}
