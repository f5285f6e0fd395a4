#!/bin/bash
#
#
#SBATCH --time=0-02:00:00
#SBATCH --nodes=1
#SBATCH --mem=100000M
#SBATCH --cpus-per-task=16
#SBATCH --account=GEOG024542

module  load apptainer/1.3.1 
singularity exec abil.sif python pre.py 
