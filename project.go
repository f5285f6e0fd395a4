package burst

import "time"

// Project owns jobs, clusters and their machines, and storage; it has a
// budget, an end date, tags and a description. Every job belongs to one.
type Project struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Tags        []string   `json:"tags"`
	BudgetUSD   float64    `json:"budget_usd"` // 0: no budget
	Ends        *time.Time `json:"ends"`       // end date (midnight UTC); nil: open-ended
	Warn        []float64  `json:"warn"`       // warning thresholds as fractions of the budget
	OnExhausted string     `json:"on_exhausted"`
	CreatedAt   time.Time  `json:"created_at"`
	// Budget is the live budget report, filled in by show and list.
	Budget *BudgetReport `json:"budget,omitempty"`
}

// What a guardrail does when a project's budget is spent.
const (
	// OnExhaustedStop refuses new work, holds what waits, and stops the
	// project's machines; tasks that ran on them are requeued (their output
	// so far is kept), to run again once the budget is raised.
	OnExhaustedStop = "stop"
	// OnExhaustedCancel does the same and also cancels the project's jobs.
	OnExhaustedCancel = "cancel"
)

// ProjectSpec creates a project or changes one: in an update, only the
// fields that are set change.
type ProjectSpec struct {
	Name        string    `json:"name"`
	Description *string   `json:"description,omitempty"`
	Tags        *[]string `json:"tags,omitempty"`
	BudgetUSD   *float64  `json:"budget_usd,omitempty"`
	Ends        *string   `json:"ends,omitempty"` // YYYY-MM-DD; "" clears
	Warn        *string   `json:"warn,omitempty"` // e.g. "50%,80%"
	OnExhausted *string   `json:"on_exhausted,omitempty"`
}

// BudgetReport is a project's money at a glance: what `burst budget` and
// the dashboard show.
type BudgetReport struct {
	Project    string  `json:"project"`
	BudgetUSD  float64 `json:"budget_usd"`
	SpentUSD   float64 `json:"spent_usd"`
	IdleUSD    float64 `json:"idle_usd"`    // part of spent: machines running with nothing to do
	StorageUSD float64 `json:"storage_usd"` // part of spent: logs and outputs kept
	// PreemptionUSD is part of spent: what attempts cut short by a spot
	// interruption had cost (the machine's time is charged once; this is
	// the share of it that bought nothing).
	PreemptionUSD  float64       `json:"preemption_usd"`
	ForecastUSD    float64       `json:"forecast_usd"` // by forecast_by: spent + running work + trend
	RemainingUSD   float64       `json:"remaining_usd"`
	BurnUSDPerHour float64       `json:"burn_usd_per_hour"` // what runs now, storage included
	Ends           *time.Time    `json:"ends"`
	DaysRemaining  float64       `json:"days_remaining"` // -1: open-ended
	Fraction       float64       `json:"fraction"`       // spent / budget
	Level          string        `json:"level"`          // none, ok, warn, exhausted
	Threshold      float64       `json:"threshold"`      // highest threshold crossed
	Guard          string        `json:"guard"`          // what the guardrail does now, in words
	ExhaustedAt    *time.Time    `json:"exhausted_at"`   // when spending reaches the budget at this rate
	Running        []Machine     `json:"running"`
	Stopped        []Machine     `json:"stopped"`
	Storage        []StorageLine `json:"storage"`
	At             time.Time     `json:"at"`
	// How forecast_usd was computed: what running work will cost until it
	// is expected to stop, plus the average daily spend of new work over
	// forecast_trend_days complete days of history (divided by at least 7)
	// times forecast_days, the days from at to forecast_by (the end date, or
	// 30 days ahead when open-ended). ForecastMethod says it in one line.
	ForecastBy             *time.Time `json:"forecast_by"`
	ForecastRunningUSD     float64    `json:"forecast_running_usd"`
	ForecastTrendUSDPerDay float64    `json:"forecast_trend_usd_per_day"`
	ForecastTrendDays      int        `json:"forecast_trend_days"`
	ForecastDays           float64    `json:"forecast_days"`
	ForecastMethod         string     `json:"forecast_method"`

	// Every money figure above, exactly, in nano-dollars. Spent is
	// tasks + idle + preemption + storage (the sum of storage[].spent_nusd),
	// to the nano-dollar: the parts are read at one instant.
	BudgetNUSD          int64   `json:"budget_nusd"`
	SpentNUSD           int64   `json:"spent_nusd"`
	TasksNUSD           int64   `json:"tasks_nusd"` // part of spent: compute, the tasks' share of their machines
	IdleNUSD            int64   `json:"idle_nusd"`
	StorageNUSD         int64   `json:"storage_nusd"`
	PreemptionNUSD      int64   `json:"preemption_nusd"`
	ForecastNUSD        int64   `json:"forecast_nusd"`
	ForecastRunningNUSD int64   `json:"forecast_running_nusd"`
	RemainingNUSD       int64   `json:"remaining_nusd"`
	TasksUSD            float64 `json:"tasks_usd"`

	// What the result cache saved: hits (tasks served from the cache,
	// cache_hits) priced at what the runs they reused had cost. Not part
	// of spent: money that was not spent (docs/cache.md).
	CacheHits int64   `json:"cache_hits"`
	SavedUSD  float64 `json:"saved_usd"`
	SavedNUSD int64   `json:"saved_nusd"`

	// Ledger is the project's ledger (what `burst cost --by kind` totals)
	// read at the same instant as the figures above: the charges kept in
	// memory are written and the ledger read in one transaction. Only
	// GET /v1/projects/{name}/budget (burst budget) carries it.
	Ledger *CostReport `json:"ledger,omitempty"`
}

// StorageLine is what a project keeps on one storage tier, and what
// keeping it there has cost so far.
type StorageLine struct {
	Tier          string  `json:"tier"`
	Bytes         int64   `json:"bytes"`
	USDPerGBMonth float64 `json:"usd_per_gb_month"`
	USDPerMonth   float64 `json:"usd_per_month"` // at the bytes kept now
	SpentUSD      float64 `json:"spent_usd"`
	SpentNUSD     int64   `json:"spent_nusd"`
}

// Cluster is a provider, a machine type, bounds on how many machines run,
// an idle timeout, a spot flag and a schedule.
type Cluster struct {
	Name      string `json:"name"`
	Provider  string `json:"provider"`
	Type      string `json:"type"`
	Project   string `json:"project"`
	Min       int    `json:"min"`
	Max       int    `json:"max"`
	IdleStopS int64  `json:"idle_stop_s"` // 0: machines never stop for idleness
	Spot      bool   `json:"spot"`
	// Fallback is what replaces a spot machine lost to an interruption
	// when spot is not to be had again: FallbackOnDemand (an on-demand
	// machine, only while the project's forecast fits its budget) or ""
	// (spot again).
	Fallback string   `json:"fallback,omitempty"`
	Off      []string `json:"off,omitempty"` // weekly switch points, e.g. "Fri 18:00"
	On       []string `json:"on,omitempty"`
	BuiltIn  bool     `json:"built_in,omitempty"` // the embedded default: this host
	// Where the provider puts machines and for how long (Slurm: partition
	// and the pilot allocation's time limit).
	Partition  string `json:"partition,omitempty"`
	TimeLimitS int64  `json:"time_limit_s,omitempty"`
	// Machine size when no Type is given (Slurm pilots).
	MachineCPUs     int   `json:"machine_cpus,omitempty"`
	MachineMemBytes int64 `json:"machine_mem_bytes,omitempty"`
	MachineGPUs     int   `json:"machine_gpus,omitempty"`
	// SlurmNodes: the machines are elastic Slurm nodes, started and stopped
	// by Slurm's ResumeProgram/SuspendProgram (burst slurm resume|suspend),
	// each running a slurmd named after the machine.
	SlurmNodes bool `json:"slurm_nodes,omitempty"`
	// Options are the provider's own settings (aws: region, subnet,
	// security-group, image); its Check refuses keys it does not take.
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	// Live figures, filled in by list and show.
	CPUs            int     `json:"cpus"`
	MemBytes        int64   `json:"mem_bytes"`
	GPUs            int     `json:"gpus"`
	PriceUSDPerHour float64 `json:"price_usd_per_hour"` // one machine
	PriceBasis      string  `json:"price_basis,omitempty"`
	Live            int     `json:"live"`   // machines pending or running
	Queued          int     `json:"queued"` // tasks waiting for it
	Schedule        string  `json:"schedule,omitempty"`
	ScheduleOn      bool    `json:"schedule_on"`
	// BelowMin says why fewer machines than Min are live, e.g. "this host
	// has 0 of its 2 cores free ..."; empty when Min is met.
	BelowMin string `json:"below_min,omitempty"`
	// Unusable says why the server starts no machine of it (its type left
	// the price catalog after it was created); its machines run on.
	Unusable string `json:"unusable,omitempty"`
}

// FallbackOnDemand is Cluster.Fallback: a spot machine lost to an
// interruption is replaced on demand while the project's forecast fits its
// budget.
const FallbackOnDemand = "on-demand"

// ClusterSpec creates a cluster.
type ClusterSpec struct {
	Name      string   `json:"name"`
	Provider  string   `json:"provider"`
	Type      string   `json:"type"`
	Project   string   `json:"project"`
	Min       int      `json:"min"`
	Max       int      `json:"max"`
	IdleStopS int64    `json:"idle_stop_s"`
	Spot      bool     `json:"spot"`
	Fallback  string   `json:"fallback,omitempty"` // FallbackOnDemand or ""
	Off       []string `json:"off,omitempty"`
	On        []string `json:"on,omitempty"`
	// For providers that place machines themselves (Slurm): the partition,
	// the allocation's time limit, and a machine's size when no Type gives it.
	Partition       string `json:"partition,omitempty"`
	TimeLimitS      int64  `json:"time_limit_s,omitempty"`
	MachineCPUs     int    `json:"machine_cpus,omitempty"`
	MachineMemBytes int64  `json:"machine_mem_bytes,omitempty"`
	MachineGPUs     int    `json:"machine_gpus,omitempty"`
	SlurmNodes      bool   `json:"slurm_nodes,omitempty"`
	// Options are the provider's own settings (--region, --subnet,
	// --security-group, --image, --opt key=value).
	Options map[string]string `json:"options,omitempty"`
}

// Event is one entry of the audit trail: who did what, when, and how it
// ended. Events are never edited.
type Event struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"` // a user, or "guardrail", "autoscaler", "server"
	Kind    string    `json:"kind"`  // e.g. job.submit, machine.stop, guardrail.exhausted
	Project string    `json:"project,omitempty"`
	Target  string    `json:"target,omitempty"`
	Message string    `json:"message"`
	Result  string    `json:"result"` // ok, refused, failed: ...
}

// CostReport is where the money went, grouped one way.
type CostReport struct {
	By       string     `json:"by"` // job, machine, user, day, project, kind (storage per tier), tier (the same)
	Project  string     `json:"project,omitempty"`
	Lines    []CostLine `json:"lines"`
	TotalUSD float64    `json:"total_usd"`
	// TotalNUSD is the exact total in nano-dollars: lines add up to it.
	TotalNUSD int64 `json:"total_nusd"`
	// What the result cache saved over the same scope: its hits priced at
	// what the runs they reused had cost (not part of the total; by job,
	// project and user each line says its share, a job served wholly from
	// the cache having a line of cost 0). SavedNUSD is exact.
	CacheHits int64   `json:"cache_hits"`
	SavedUSD  float64 `json:"saved_usd"`
	SavedNUSD int64   `json:"saved_nusd"`
}

// CostLine is one group of a CostReport.
type CostLine struct {
	Key  string  `json:"key"`            // job id, machine, user, day, kind; "idle" and "storage" for what no job used (by kind and tier: storage:TIER)
	Name string  `json:"name,omitempty"` // the job's name (by job)
	USD  float64 `json:"usd"`
	NUSD int64   `json:"nusd"`
	// What the cache saved this group (by job, project and user).
	SavedUSD  float64 `json:"saved_usd,omitempty"`
	SavedNUSD int64   `json:"saved_nusd,omitempty"`
}

// StorageTier is a storage tier of the price catalog.
type StorageTier struct {
	Name          string  `json:"name"`
	USDPerGBMonth float64 `json:"usd_per_gb_month"`
	Description   string  `json:"description,omitempty"`
	Source        string  `json:"source,omitempty"`
	Date          string  `json:"date,omitempty"`
	Logs          bool    `json:"logs,omitempty"` // logs and outputs are kept on it
}

// MachineType is one entry of the price catalog.
type MachineType struct {
	Name        string  `json:"name"`
	VCPUs       int     `json:"vcpus"`
	MemBytes    int64   `json:"mem_bytes"`
	GPUs        int     `json:"gpus"`
	GPUModel    string  `json:"gpu_model,omitempty"`
	OnDemandUSD float64 `json:"on_demand_usd_per_hour"`
	SpotUSD     float64 `json:"spot_usd_per_hour"`
	Source      string  `json:"source"`
	Date        string  `json:"date"`
	// When the spot price was read at runtime from a provider (aws: every
	// 15 minutes): where, when it took effect, and in which zone. Source
	// and Date then speak of the on-demand price alone.
	SpotSource string     `json:"spot_source,omitempty"`
	SpotAt     *time.Time `json:"spot_at,omitempty"`
	SpotZone   string     `json:"spot_zone,omitempty"`
}
