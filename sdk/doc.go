// Package sdk runs Go functions over many inputs as one burst map job: register a function by name at init, call Map.
// The same binary re-executes itself as each task's worker (call sdk.Main first in main), so no code is shipped.
package sdk
