package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/burst-sh/burst"
)

// MachineRow is a machine with the identity of its agent process.
type MachineRow struct {
	burst.Machine
	AgentStart uint64 // agent process start time (clock ticks since boot)
}

// SaveMachine inserts or replaces a machine.
func SaveMachine(tx *Tx, m *MachineRow) error {
	gpus, err := json.Marshal(m.GPUs)
	if err != nil {
		return err
	}
	_, err = tx.exec(`INSERT INTO machines (id, cluster, host, state, cpus, mem_bytes, gpus, agent_pid, agent_start,
		started_at, seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET cluster=excluded.cluster, host=excluded.host, state=excluded.state,
		cpus=excluded.cpus, mem_bytes=excluded.mem_bytes, gpus=excluded.gpus, agent_pid=excluded.agent_pid,
		agent_start=excluded.agent_start, started_at=excluded.started_at, seen_at=excluded.seen_at`,
		m.ID, m.Cluster, m.Host, m.State, m.CPUs, m.MemBytes, string(gpus), m.AgentPID, int64(m.AgentStart),
		toMicros(m.StartedAt), toMicros(m.SeenAt))
	if err != nil {
		return fmt.Errorf("save machine %s: %w", m.ID, err)
	}
	return nil
}

// ListMachines lists all machines by id.
func (s *Store) ListMachines(ctx context.Context) ([]*MachineRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, cluster, host, state, cpus, mem_bytes, gpus, agent_pid,
		agent_start, started_at, seen_at FROM machines ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*MachineRow
	for rows.Next() {
		var (
			m             MachineRow
			gpus          string
			start         int64
			started, seen sql.NullInt64
		)
		if err := rows.Scan(&m.ID, &m.Cluster, &m.Host, &m.State, &m.CPUs, &m.MemBytes, &gpus, &m.AgentPID,
			&start, &started, &seen); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(gpus), &m.GPUs); err != nil {
			return nil, fmt.Errorf("machine %s: bad gpus: %w", m.ID, err)
		}
		m.AgentStart = uint64(start)
		m.StartedAt, m.SeenAt = fromMicros(started), fromMicros(seen)
		out = append(out, &m)
	}
	return out, rows.Err()
}
