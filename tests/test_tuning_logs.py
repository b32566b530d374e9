"""The search's TensorBoard set-up: one callback, in <tune-dir>/logs, that keras-tuner moves into each trial's."""

import keras

from kerascnn.tuning import logs


def test_every_trial_gets_tensorboard_under_the_search_folder(tmp_path):
    (board,) = logs.callbacks(tmp_path / "search")
    # keras-tuner recognises the callback by its class name to give each trial its own folder and its HParams.
    assert isinstance(board, keras.callbacks.TensorBoard) and type(board).__name__ == "TensorBoard"
    assert board.log_dir == str(tmp_path / "search" / "logs") == str(logs.log_dir(tmp_path / "search"))
    assert board.histogram_freq == 0 and board.write_graph is False
    assert logs.callbacks(tmp_path / "search")[0] is not board  # a fresh callback for each search
