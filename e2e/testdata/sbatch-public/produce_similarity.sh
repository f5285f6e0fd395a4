#!/bin/bash
#SBATCH -J gpu-job            # job name
#SBATCH --cpus-per-task=4     # 4 CPU cores
#SBATCH -p gpu                # the gpu partition
#SBATCH --gres=gpu:1          # one GPU
#SBATCH -t 3-00:00:00         # three days

python train.py
