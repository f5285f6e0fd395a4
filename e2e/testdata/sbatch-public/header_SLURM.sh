#!/bin/bash
#SBATCH -J jacques
#SBATCH -e msg/jacques.msg
#SBATCH -o msg/jacques.msg
#SBATCH -p queue1
#SBATCH -N 1
#SBATCH --ntasks-per-node=8
#SBATCH --mem=4000
