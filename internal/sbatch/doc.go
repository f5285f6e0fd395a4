// Package sbatch reads the #SBATCH directives of Slurm batch scripts so they run unchanged on burst, and builds the
// SLURM_* variables and output file names such scripts expect. It does no I/O beyond the bytes it is passed.
package sbatch
