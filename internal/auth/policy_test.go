package auth

import (
	"strings"
	"testing"
)

// The policy is a function of its arguments: one table, every role of the
// issue (#15: "Owners set budgets and manage the project's clusters;
// members submit and cancel their own work and see the project; viewers
// see") against every action that depends on a role.
func TestAllow(t *testing.T) {
	user := func(role string) *Principal {
		p := &Principal{Kind: User, Name: "alice", Roles: map[string]string{"venus": "owner"}}
		if role != "" {
			p.Roles["mars"] = role
		}
		return p
	}
	admin := &Principal{Kind: Admin, Name: "root", IsAdmin: true}
	adminUser := &Principal{Kind: User, Name: "carol", IsAdmin: true}
	machine := &Principal{Kind: Machine, Name: "m1", Cluster: "c"}
	metrics := &Principal{Kind: Metrics, Name: "prom"}
	const ok, forbidden, notFound = "ok", "403", "404"
	cases := []struct {
		who    *Principal
		action Action
		owner  string
		want   string
		msg    string // part of the refusal's message
	}{
		{admin, Budget, "", ok, ""},
		{admin, Agent, "", ok, ""},
		{adminUser, Budget, "", ok, ""},
		{adminUser, AdminOnly, "", ok, ""},
		{adminUser, Agent, "", forbidden, "machine's credential"},
		{machine, Agent, "", ok, ""},
		{machine, Read, "", forbidden, "agent protocol only"},
		{machine, Open, "", forbidden, "agent protocol only"},
		{user("viewer"), Read, "", ok, ""},
		{user("viewer"), Submit, "", forbidden, "submitting work to mars needs the member role; you are a viewer"},
		{user("viewer"), Cancel, "alice", forbidden, "needs the member role"},
		{user("member"), Submit, "", ok, ""},
		{user("member"), Cancel, "alice", ok, ""},
		{user("member"), Cancel, "bob", forbidden, "cancelling bob's job in mars needs the owner role; you are a member"},
		{user("member"), Budget, "", forbidden, "changing the budget of mars needs the owner role; you are a member"},
		{user("member"), Settings, "", forbidden, "changing the rules of mars needs the owner role; you are a member"},
		{user("owner"), Settings, "", ok, ""},
		{user("member"), ClusterManage, "", forbidden, "needs the owner role"},
		{user("owner"), Cancel, "bob", ok, ""},
		{user("owner"), Budget, "", ok, ""},
		{user("owner"), ClusterManage, "", ok, ""},
		{user("owner"), Members, "", ok, ""},
		{user("member"), Members, "", forbidden, "granting roles in mars needs the owner role"},
		{user("owner"), AdminOnly, "", forbidden, "needs an admin"},
		{user("owner"), CreateProject, "", forbidden, "needs an admin"},
		{user("owner"), Agent, "", forbidden, "machine's credential"},
		{user(""), Read, "", notFound, "no project mars"},
		{user(""), Submit, "", notFound, "no project mars"},
		{user(""), Open, "", ok, ""},
		{user(""), List, "", ok, ""},
		{nil, Open, "", forbidden, "no credential"},
		{metrics, ReadMetrics, "", ok, ""},
		{metrics, Open, "", forbidden, "reads /metrics only"},
		{metrics, List, "", forbidden, "reads /metrics only"},
		{metrics, Probe, "", forbidden, "reads /metrics only"},
		{metrics, Read, "", forbidden, "reads /metrics only"},
		{metrics, Agent, "", forbidden, "reads /metrics only"},
		{admin, ReadMetrics, "", ok, ""},
		{adminUser, ReadMetrics, "", ok, ""},
		{user("owner"), ReadMetrics, "", forbidden, "needs a metrics credential or an admin"},
		{machine, ReadMetrics, "", forbidden, "agent protocol only"},
	}
	for _, c := range cases {
		err := Allow(c.who, c.action, "mars", c.owner)
		got := ok
		if d, isD := err.(*Denied); isD {
			got = forbidden
			if d.NotFound {
				got = notFound
			}
		} else if err != nil {
			t.Fatalf("%+v %s: not a *Denied: %v", c.who, c.action, err)
		}
		name := "nil"
		if c.who != nil {
			name = c.who.Name + "/" + c.who.Roles["mars"]
		}
		if got != c.want || (err != nil && !strings.Contains(err.Error(), c.msg)) {
			t.Errorf("%s %s (owner %q): %s %v, want %s %q", name, c.action, c.owner, got, err, c.want, c.msg)
		}
	}
}

func TestVisible(t *testing.T) {
	all := []string{"default", "mars", "venus"}
	u := &Principal{Kind: User, Name: "alice", Roles: map[string]string{"mars": "viewer"}}
	if got := Visible(u, all); len(got) != 1 || got[0] != "mars" {
		t.Fatalf("alice sees %v, want [mars]", got)
	}
	if got := Visible(&Principal{Kind: User, Name: "bob"}, all); got == nil || len(got) != 0 {
		t.Fatalf("a user with no role sees %#v, want an empty, non-nil list", got)
	}
	if got := Visible(&Principal{Kind: Admin}, all); len(got) != 3 {
		t.Fatalf("the admin sees %v", got)
	}
}
