#!/bin/bash
#SBATCH -J sleep              # job name
#SBATCH -p X6
#SBATCH -N 1
#SBATCH -n 32               # total number of mpi tasks requested
#SBATCH --nodelist=n086

sleep 720000000
