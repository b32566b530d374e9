# The image the Kubeflow pipeline's components run in (python -m pipelines.kubeflow compile --image ...):
# TensorFlow's GPU image (CUDA and cuDNN for the TensorFlow it carries), with kerascnn and kfp installed from the
# repository's pyproject. Build it from the repository's top folder:
#   docker build -t REGISTRY/kerascnn:TAG . && docker push REGISTRY/kerascnn:TAG
FROM tensorflow/tensorflow:2.21.0-gpu

WORKDIR /opt/kerascnn
COPY pyproject.toml README.md ./
COPY kerascnn kerascnn
COPY pipelines pipelines
# The package's own dependencies resolve against the TensorFlow already in the image (tensorflow>=2.21,<3);
# the kubeflow extra adds kfp, which the components' entry point (kfp.dsl.executor_main) needs.
RUN pip install --no-cache-dir ".[kubeflow]" && python -c "import kerascnn, kfp, pipelines.kubeflow_steps"

# The components run in a folder of their own: relative --output-dir and --run-dir land here (mount a volume at
# an absolute path instead, so that versions and checkpoints outlive the pod).
WORKDIR /workspace
