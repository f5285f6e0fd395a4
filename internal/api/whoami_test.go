package api

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/auth"
)

// GET /v1/whoami answers from the request's principal: the home's token
// is the admin, named by X-Burst-User; a user's grants are their roles,
// in project order.
func TestWhoami(t *testing.T) {
	h := newTest(t, &standIn{})
	code, body := call(h, "GET", "/v1/whoami", "", map[string]string{"X-Burst-User": "grace"})
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var got client.Whoami
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if want := (client.Whoami{Name: "grace", Kind: "admin", Admin: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("whoami with the home's token = %+v, want %+v", got, want)
	}
	u := whoami(&auth.Principal{Kind: auth.User, Name: "alice", Roles: map[string]string{"venus": client.RoleViewer, "mars": client.RoleOwner}}, "ignored")
	want := client.Whoami{Name: "alice", Kind: "user", Grants: []client.Grant{
		{Project: "mars", User: "alice", Role: client.RoleOwner}, {Project: "venus", User: "alice", Role: client.RoleViewer}}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("whoami(alice) = %+v, want %+v", u, want)
	}
	if code, _ := call(h, "GET", "/v1/whoami", "", map[string]string{"Authorization": "Bearer nope"}); code != 401 {
		t.Errorf("whoami with a wrong token: status %d, want 401", code)
	}
}
