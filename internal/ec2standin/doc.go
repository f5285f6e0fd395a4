// Package ec2standin is a stand-in (a test double) for the AWS EC2 API and
// the Service Quotas call burst's aws provider makes, so that the provider's
// real code, with the real AWS SDK for Go v2, can be tested on a machine
// that reaches no cloud. It is not part of burst: no user path runs it, and
// burst's code never knows it talks to it (only the endpoint URL differs).
//
// It speaks the EC2 Query protocol (Version 2016-11-15, XML responses and
// errors as EC2 writes them) for RunInstances, DescribeInstances,
// TerminateInstances, DescribeSpotPriceHistory, DescribeInstanceTypeOfferings,
// DescribeInstanceTypes, DescribeRegions and DescribeImages, and Service
// Quotas' GetServiceQuota (JSON 1.1). Every request must carry a SigV4
// signature made with the configured key pair.
//
// Each instance is a namespace host of scripts/hosts.sh (an index of its own,
// claimed with a lock file so that several stand-ins and tests share the
// machine), where the stand-in's binary runs as the instance's first process
// (Boot): it serves the instance metadata service (IMDSv2) at
// 169.254.169.254:80 inside the host's network namespace, runs the user-data
// as root would on first boot, and when the instance ends takes every
// process of the instance with it. A control API (Control) interrupts spot
// instances, makes calls fail with a code, sets a boot delay and lists the
// instances with their user-data logs. docs/ec2-standin.md tells how to run it.
//
// It must not be mistaken for a cloud: it keeps its state in memory, one
// process, and its "machines" are namespaces of the host it runs on.
package ec2standin
