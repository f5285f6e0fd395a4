package store

import (
	"database/sql"
	"fmt"
	"time"
)

// migrations are applied in order, each once, each in its own transaction.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	// 1: projects, jobs, tasks, machines.
	`CREATE TABLE projects (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE jobs (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		project_id INTEGER NOT NULL REFERENCES projects(id),
		kind TEXT NOT NULL,
		spec TEXT NOT NULL,
		state TEXT NOT NULL,
		exit_code INTEGER,
		reason TEXT NOT NULL DEFAULT '',
		cpus INTEGER NOT NULL,
		mem_bytes INTEGER NOT NULL,
		gpus INTEGER NOT NULL,
		time_limit_s INTEGER NOT NULL DEFAULT 0,
		submitted_at INTEGER NOT NULL,
		started_at INTEGER,
		ended_at INTEGER,
		n_tasks INTEGER NOT NULL,
		n_dispatched INTEGER NOT NULL DEFAULT 0,
		n_running INTEGER NOT NULL DEFAULT 0,
		n_succeeded INTEGER NOT NULL DEFAULT 0,
		n_failed INTEGER NOT NULL DEFAULT 0,
		n_cancelled INTEGER NOT NULL DEFAULT 0,
		n_timeout INTEGER NOT NULL DEFAULT 0,
		n_lost INTEGER NOT NULL DEFAULT 0,
		cpu_us INTEGER NOT NULL DEFAULT 0,
		max_rss INTEGER NOT NULL DEFAULT 0,
		cancel_requested INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX jobs_active ON jobs(state) WHERE state IN ('queued', 'running');
	CREATE INDEX jobs_project ON jobs(project_id, id);
	-- A task row exists once the task was first dispatched; tasks never
	-- dispatched are implied by jobs.n_dispatched < jobs.n_tasks, so a map of
	-- 10^6 inputs costs one row per task only as it runs.
	CREATE TABLE tasks (
		job_id INTEGER NOT NULL REFERENCES jobs(id),
		idx INTEGER NOT NULL,
		state TEXT NOT NULL,
		attempt INTEGER NOT NULL,
		lost_count INTEGER NOT NULL DEFAULT 0,
		machine TEXT NOT NULL DEFAULT '',
		pid INTEGER NOT NULL DEFAULT 0,
		pid_start INTEGER NOT NULL DEFAULT 0,
		exit_code INTEGER,
		signal INTEGER NOT NULL DEFAULT 0,
		reason TEXT NOT NULL DEFAULT '',
		gpu_ids TEXT NOT NULL DEFAULT '',
		started_at INTEGER,
		ended_at INTEGER,
		user_us INTEGER NOT NULL DEFAULT 0,
		sys_us INTEGER NOT NULL DEFAULT 0,
		max_rss INTEGER NOT NULL DEFAULT 0,
		stdout TEXT NOT NULL DEFAULT '',
		stderr TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (job_id, idx)
	) WITHOUT ROWID;
	CREATE INDEX tasks_active ON tasks(state) WHERE state IN ('queued', 'running');
	CREATE TABLE machines (
		id TEXT PRIMARY KEY,
		cluster TEXT NOT NULL,
		host TEXT NOT NULL,
		state TEXT NOT NULL,
		cpus INTEGER NOT NULL,
		mem_bytes INTEGER NOT NULL,
		gpus TEXT NOT NULL DEFAULT '[]',
		agent_pid INTEGER NOT NULL DEFAULT 0,
		agent_start INTEGER NOT NULL DEFAULT 0,
		started_at INTEGER,
		seen_at INTEGER
	);`,
	// 2: a map's inputs, apart from its spec so that reading a job stays
	// cheap however many inputs it has: one row per source, a JSON array.
	`CREATE TABLE job_inputs (
		job_id INTEGER NOT NULL REFERENCES jobs(id),
		source INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (job_id, source)
	) WITHOUT ROWID;`,
	// 3: budgets, clusters, metered cost, storage and the audit trail.
	`ALTER TABLE projects ADD COLUMN description TEXT NOT NULL DEFAULT '';
	ALTER TABLE projects ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
	ALTER TABLE projects ADD COLUMN budget_nusd INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE projects ADD COLUMN ends_at INTEGER;
	ALTER TABLE projects ADD COLUMN warn TEXT NOT NULL DEFAULT '';
	ALTER TABLE projects ADD COLUMN on_exhausted TEXT NOT NULL DEFAULT 'stop';
	ALTER TABLE projects ADD COLUMN exhausted INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN user TEXT NOT NULL DEFAULT '';
	CREATE TABLE clusters (
		name TEXT PRIMARY KEY,
		provider TEXT NOT NULL,
		type TEXT NOT NULL,
		project TEXT NOT NULL,
		min INTEGER NOT NULL,
		max INTEGER NOT NULL,
		idle_stop_s INTEGER NOT NULL,
		spot INTEGER NOT NULL,
		sched_off TEXT NOT NULL DEFAULT '[]',
		sched_on TEXT NOT NULL DEFAULT '[]',
		created_at INTEGER NOT NULL
	);
	ALTER TABLE machines ADD COLUMN provider TEXT NOT NULL DEFAULT 'local';
	ALTER TABLE machines ADD COLUMN type TEXT NOT NULL DEFAULT '';
	ALTER TABLE machines ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
	ALTER TABLE machines ADD COLUMN spot INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE machines ADD COLUMN price REAL NOT NULL DEFAULT 0;
	ALTER TABLE machines ADD COLUMN price_basis TEXT NOT NULL DEFAULT '';
	ALTER TABLE machines ADD COLUMN per_use INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE machines ADD COLUMN handle TEXT NOT NULL DEFAULT '';
	ALTER TABLE machines ADD COLUMN stopped_at INTEGER;
	ALTER TABLE machines ADD COLUMN metered_until INTEGER;
	-- The meter's ledger: every nano-dollar a machine cost, by day, project,
	-- machine, user and job (job 0: idle or storage). Rows only grow.
	CREATE TABLE costs (
		day TEXT NOT NULL,
		project TEXT NOT NULL,
		machine TEXT NOT NULL,
		user TEXT NOT NULL,
		job_id INTEGER NOT NULL,
		kind TEXT NOT NULL,
		nusd INTEGER NOT NULL,
		PRIMARY KEY (day, project, machine, user, job_id, kind)
	) WITHOUT ROWID;
	CREATE INDEX costs_job ON costs(job_id) WHERE job_id > 0;
	CREATE INDEX costs_project ON costs(project);
	CREATE TABLE storage (
		project TEXT NOT NULL,
		tier TEXT NOT NULL,
		bytes INTEGER NOT NULL,
		PRIMARY KEY (project, tier)
	) WITHOUT ROWID;
	CREATE TABLE events (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		kind TEXT NOT NULL,
		project TEXT NOT NULL DEFAULT '',
		target TEXT NOT NULL DEFAULT '',
		message TEXT NOT NULL,
		result TEXT NOT NULL
	);
	CREATE INDEX events_project ON events(project, id);
	CREATE TRIGGER events_no_update BEFORE UPDATE ON events
		BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
	CREATE TRIGGER events_no_delete BEFORE DELETE ON events
		BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;`,
	// 4: provider options of a cluster (partition, time limit, machine size).
	`ALTER TABLE clusters ADD COLUMN options TEXT NOT NULL DEFAULT '{}';`,
	// 5: what a pipe's stage read and wrote.
	`ALTER TABLE tasks ADD COLUMN read_bytes INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE tasks ADD COLUMN wrote_bytes INTEGER NOT NULL DEFAULT 0;`,
	// 6: what a task's last attempt cost.
	`ALTER TABLE tasks ADD COLUMN cost_nusd INTEGER NOT NULL DEFAULT 0;`,
	// 7: the dashboard's sessions, so that a restarted server keeps its
	// signed-in browsers (see sessions.go).
	`CREATE TABLE ui_sessions (
		id_hash TEXT PRIMARY KEY,
		user TEXT NOT NULL,
		csrf TEXT NOT NULL,
		token_hash TEXT NOT NULL,
		expires INTEGER NOT NULL
	);`,
	// 8: how many job ids a job holds: an #SBATCH --array of N tasks holds
	// N (its tasks' SLURM_JOB_IDs, as in Slurm), every other job one.
	`ALTER TABLE jobs ADD COLUMN id_span INTEGER NOT NULL DEFAULT 1;`,
	// 9: who stopped a machine by hand ('' when burst stopped it or once it
	// is started again): the autoscaler leaves such a machine stopped, and a
	// restarted server must know it.
	`ALTER TABLE machines ADD COLUMN stopped_by TEXT NOT NULL DEFAULT '';`,
	// 10: a cancel asked for one task alone (one task of a job array), so
	// that a restarted server still stops it.
	`ALTER TABLE tasks ADD COLUMN cancel INTEGER NOT NULL DEFAULT 0;`,
	// 11: where a task's output begins and ends in files others append to.
	`ALTER TABLE tasks ADD COLUMN out_from INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE tasks ADD COLUMN err_from INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE tasks ADD COLUMN out_to INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE tasks ADD COLUMN err_to INTEGER NOT NULL DEFAULT 0;`,
	// 12: whose the store is (identity.go): one row, the home's id and
	// where the store lives, so that a copy knows it is one.
	`CREATE TABLE home_identity (
		one INTEGER PRIMARY KEY CHECK (one = 1),
		home_id TEXT NOT NULL,
		home TEXT NOT NULL,
		host TEXT NOT NULL,
		dev INTEGER NOT NULL,
		ino INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		copied_from TEXT NOT NULL DEFAULT '',
		copied_home TEXT NOT NULL DEFAULT '',
		copied_at INTEGER
	);`,
	// 13: join tokens and machine credentials (credentials.go), kept only
	// as SHA-256: a copy of the database joins no machine and serves none.
	`CREATE TABLE join_tokens (
		id INTEGER PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		cluster TEXT NOT NULL,
		created_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		used_at INTEGER,
		used_by TEXT NOT NULL DEFAULT '',
		revoked_at INTEGER
	);
	CREATE TABLE machine_credentials (
		hash TEXT PRIMARY KEY,
		machine TEXT NOT NULL,
		cluster TEXT NOT NULL,
		token_id INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	);
	CREATE INDEX machine_credentials_machine ON machine_credentials(machine);`,
	// 14: users, their credentials (only the SHA-256 of each) and their
	// roles per project (users.go).
	`CREATE TABLE users (
		name TEXT PRIMARY KEY,
		admin INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE user_credentials (
		hash TEXT PRIMARY KEY,
		user TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE INDEX user_credentials_user ON user_credentials(user);
	CREATE TABLE grants (
		project TEXT NOT NULL,
		user TEXT NOT NULL,
		role TEXT NOT NULL,
		PRIMARY KEY (project, user)
	);`,
	// 15: the machine a join token was minted for (a Slurm pilot that burst
	// names; credentials.go): it redeems to that name only.
	`ALTER TABLE join_tokens ADD COLUMN machine TEXT NOT NULL DEFAULT '';`,
	// 16: the blob store (blobs.go): who holds which blob, where its bytes
	// are, and where new blobs go.
	`CREATE TABLE blob_refs (
		project TEXT NOT NULL,
		kind TEXT NOT NULL,
		job INTEGER NOT NULL,
		task INTEGER NOT NULL,
		attempt INTEGER NOT NULL,
		digest TEXT NOT NULL,
		size INTEGER NOT NULL,
		location TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (project, kind, job, task, attempt, digest)
	) WITHOUT ROWID;
	CREATE INDEX blob_refs_digest ON blob_refs(digest);
	CREATE INDEX blob_refs_job ON blob_refs(job) WHERE job > 0;
	CREATE TABLE blob_storage (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		url TEXT NOT NULL,
		endpoint TEXT NOT NULL,
		region TEXT NOT NULL,
		set_by TEXT NOT NULL,
		set_at INTEGER NOT NULL
	);`,
	// 17: the files a staged task's last ended attempt uploaded as
	// outputs (outputs.go): what `burst results --fetch` brings back.
	`CREATE TABLE task_outputs (
		job_id INTEGER NOT NULL,
		idx INTEGER NOT NULL,
		attempt INTEGER NOT NULL,
		path TEXT NOT NULL,
		digest TEXT NOT NULL,
		size INTEGER NOT NULL,
		mode INTEGER NOT NULL,
		PRIMARY KEY (job_id, idx, path)
	);`,
	// 18: spot interruptions: when a machine's notice says it goes away
	// (NULL: none came), and what replaces a cluster's interrupted spot
	// machine (burst cluster create --fallback on-demand).
	`ALTER TABLE machines ADD COLUMN interrupted_at INTEGER;
	ALTER TABLE clusters ADD COLUMN fallback TEXT NOT NULL DEFAULT '';`,
	// 19: storage you can see, delete and move (storage_refs.go): the tier
	// a reference is charged on ('' before: the logs tier), lifecycle rules
	// per project, and blobs to delete once no project holds them.
	`ALTER TABLE blob_refs ADD COLUMN tier TEXT NOT NULL DEFAULT '';
	CREATE TABLE storage_rules (project TEXT NOT NULL, action TEXT NOT NULL, after_s INTEGER NOT NULL,
		set_by TEXT NOT NULL, set_at INTEGER NOT NULL, PRIMARY KEY (project, action));
	CREATE TABLE blob_deletes (digest TEXT NOT NULL, location TEXT NOT NULL, at INTEGER NOT NULL,
		PRIMARY KEY (digest, location));`,
	// 20: metrics-only users (users.go): their credentials read GET
	// /metrics and nothing else.
	`ALTER TABLE users ADD COLUMN metrics INTEGER NOT NULL DEFAULT 0;`,
	// 21: software stacks (stacks.go): each version of a named root
	// filesystem, its blob and manifest, and the links that share one
	// (kept only as SHA-256, as join tokens are).
	`CREATE TABLE stacks (
		name TEXT NOT NULL,
		version INTEGER NOT NULL,
		digest TEXT NOT NULL,
		size INTEGER NOT NULL,
		parent INTEGER NOT NULL DEFAULT 0,
		project TEXT NOT NULL,
		author TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '',
		job INTEGER NOT NULL DEFAULT 0,
		manifest TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (name, version)
	);
	CREATE INDEX stacks_digest ON stacks(digest);
	CREATE TABLE stack_links (
		id INTEGER PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		name TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		revoked_at INTEGER
	);`,
	// 22: the result cache (cache.go): finished successful tasks' results
	// by key, the parts that every task of a job shares (kept once), each
	// cached task's hit or miss and why, and projects' default.
	`CREATE TABLE cache_entries (
		key TEXT PRIMARY KEY,
		project TEXT NOT NULL,
		name TEXT NOT NULL,
		job INTEGER NOT NULL,
		task INTEGER NOT NULL,
		shared TEXT NOT NULL,
		parts TEXT NOT NULL,
		result TEXT NOT NULL,
		cost_nusd INTEGER NOT NULL,
		hits INTEGER NOT NULL DEFAULT 0,
		saved_nusd INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE cache_shared (digest TEXT PRIMARY KEY, parts TEXT NOT NULL);
	CREATE TABLE cache_uses (
		job INTEGER NOT NULL,
		task INTEGER NOT NULL,
		hit INTEGER NOT NULL,
		why TEXT NOT NULL,
		saved_nusd INTEGER NOT NULL,
		PRIMARY KEY (job, task)
	);
	CREATE TABLE cache_projects (project TEXT PRIMARY KEY, cache TEXT NOT NULL);`,
	// 23: what the last attempt of a task that kept its stack changes
	// changed (stacks.go): the blob of its changes' tar, for
	// `burst stack commit`.
	`CREATE TABLE stack_changes (
		job_id INTEGER NOT NULL,
		idx INTEGER NOT NULL,
		attempt INTEGER NOT NULL,
		digest TEXT NOT NULL,
		size INTEGER NOT NULL,
		PRIMARY KEY (job_id, idx)
	);`,
	// 24: the cluster a job was submitted to (its spec's), as a column:
	// listings leave specs unread, and sacct shows it as the Partition of
	// ended jobs too. Only the jobs of named clusters are written (most
	// jobs run on the default): the upgrade of a large store stays small.
	`ALTER TABLE jobs ADD COLUMN cluster TEXT NOT NULL DEFAULT '';
	UPDATE jobs SET cluster = json_extract(spec, '$.cluster')
		WHERE json_valid(spec) AND COALESCE(json_extract(spec, '$.cluster'), '') != '';`,
	// 25: a map task's job slot (GNU parallel's {%}): kept so that a
	// restarted server gives no new task the slot of one still running.
	`ALTER TABLE tasks ADD COLUMN slot INTEGER NOT NULL DEFAULT 0;`,
	// The srun steps of a batch task (JSON), and of a job of one task.
	`ALTER TABLE tasks ADD COLUMN steps TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN steps TEXT NOT NULL DEFAULT '';`,
	// 27: the job srun made outside any job (its spec's SrunStep), as a
	// column: listings leave specs unread, and the Slurm commands list its
	// step as N.0 where other jobs have N.batch.
	`ALTER TABLE jobs ADD COLUMN srun_step INTEGER NOT NULL DEFAULT 0;`,
	// 28: whether a machine's agent shares no filesystem with the server
	// (Machine.Remote): a restarted server shows it and gives it a remote
	// agent's patience before it registers again.
	`ALTER TABLE machines ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;`,
	// 29: the number of the meter's last flush to the ledger, written by
	// the flush itself: a reader of the ledger reads it in the same
	// transaction, and so knows which charges the server holds in memory
	// are in what it read (store.LedgerFlushed).
	`CREATE TABLE meter_flush (gen INTEGER NOT NULL);
	INSERT INTO meter_flush (gen) VALUES (0);`,
	// 30: when the cluster a machine belongs to was created (microseconds;
	// 0: not known): a cluster deleted and made again under its name is
	// another cluster, and a restarted server must not hand it the old
	// one's stopped machines (MachineRow.ClusterBorn).
	`ALTER TABLE machines ADD COLUMN cluster_born INTEGER NOT NULL DEFAULT 0;`,
	// 31: the Slurm partition a job was submitted with (sbatch -p: its
	// spec's batch.partition), as a column: listings leave specs unread,
	// and squeue -p, sacct -r and scancel -p of a partition no cluster is
	// named after (-p defq) filter on it, and %P shows it. Only the jobs
	// that named one are written.
	`ALTER TABLE jobs ADD COLUMN partition TEXT NOT NULL DEFAULT '';
	UPDATE jobs SET partition = COALESCE(CASE WHEN json_valid(spec) THEN json_extract(spec, '$.batch.partition') END, '')
		WHERE instr(spec, '"partition"') > 0;`,
}

func migrate(db *sql.DB) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("the state database is at schema version %d but this burst knows only %d: upgrade burst", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the version the database is at.
func (s *Store) SchemaVersion() (int, error) {
	var v int
	err := s.r.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
