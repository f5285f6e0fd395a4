package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/burst-sh/burst"
)

// MachineRow is a machine with the identity of its agent process and how
// far the meter has charged it.
type MachineRow struct {
	burst.Machine
	AgentStart   uint64     // agent process start time (clock ticks since boot)
	MeteredUntil *time.Time // the meter has charged the machine's time up to here
	// ClusterBorn is when the cluster it belongs to was created, in
	// microseconds since the epoch (0: unknown, or the built-in cluster):
	// with the cluster's name, which cluster it is, once a deleted
	// cluster's name is taken again.
	ClusterBorn int64
}

// SaveMachine inserts or replaces a machine.
func SaveMachine(tx *Tx, m *MachineRow) error {
	gpus, err := json.Marshal(m.GPUs)
	if err != nil {
		return err
	}
	_, err = tx.exec(saveMachineSQL,
		m.ID, m.Cluster, m.Host, m.State, m.CPUs, m.MemBytes, string(gpus), m.AgentPID, int64(m.AgentStart),
		toMicros(m.StartedAt), toMicros(m.SeenAt), m.Provider, m.Type, m.Project, m.Spot, m.PriceUSDPerHour,
		m.PriceBasis, m.PerUse, m.Handle, toMicros(m.StoppedAt), toMicros(m.MeteredUntil), m.StoppedBy,
		toMicros(m.Interrupted), m.Remote, m.ClusterBorn)
	if err != nil {
		return fmt.Errorf("save machine %s: %w", m.ID, err)
	}
	return nil
}

const saveMachineSQL = `INSERT INTO machines (id, cluster, host, state, cpus, mem_bytes, gpus, agent_pid, agent_start,
		started_at, seen_at, provider, type, project, spot, price, price_basis, per_use, handle, stopped_at,
		metered_until, stopped_by, interrupted_at, remote, cluster_born) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET cluster=excluded.cluster, host=excluded.host, state=excluded.state,
		cpus=excluded.cpus, mem_bytes=excluded.mem_bytes, gpus=excluded.gpus, agent_pid=excluded.agent_pid,
		agent_start=excluded.agent_start, started_at=excluded.started_at, seen_at=excluded.seen_at,
		provider=excluded.provider, type=excluded.type, project=excluded.project, spot=excluded.spot,
		price=excluded.price, price_basis=excluded.price_basis, per_use=excluded.per_use, handle=excluded.handle,
		stopped_at=excluded.stopped_at, metered_until=excluded.metered_until, stopped_by=excluded.stopped_by,
		interrupted_at=excluded.interrupted_at, remote=excluded.remote, cluster_born=excluded.cluster_born`

// ListMachines lists all machines by id.
func (s *Store) ListMachines(ctx context.Context) ([]*MachineRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, cluster, host, state, cpus, mem_bytes, gpus, agent_pid,
		agent_start, started_at, seen_at, provider, type, project, spot, price, price_basis, per_use, handle,
		stopped_at, metered_until, stopped_by, interrupted_at, remote, cluster_born FROM machines ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*MachineRow
	for rows.Next() {
		var (
			m                      MachineRow
			gpus                   string
			start                  int64
			started, seen, stopped sql.NullInt64
			metered, interrupted   sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.Cluster, &m.Host, &m.State, &m.CPUs, &m.MemBytes, &gpus, &m.AgentPID,
			&start, &started, &seen, &m.Provider, &m.Type, &m.Project, &m.Spot, &m.PriceUSDPerHour,
			&m.PriceBasis, &m.PerUse, &m.Handle, &stopped, &metered, &m.StoppedBy, &interrupted, &m.Remote, &m.ClusterBorn); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(gpus), &m.GPUs); err != nil {
			return nil, fmt.Errorf("machine %s: bad gpus: %w", m.ID, err)
		}
		m.AgentStart = uint64(start)
		m.StartedAt, m.SeenAt = fromMicros(started), fromMicros(seen)
		m.StoppedAt, m.MeteredUntil = fromMicros(stopped), fromMicros(metered)
		m.Interrupted = fromMicros(interrupted)
		out = append(out, &m)
	}
	return out, rows.Err()
}
