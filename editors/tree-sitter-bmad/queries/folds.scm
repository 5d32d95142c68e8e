; Every braced block folds, and a text block or rhai block over several lines.
(block) @fold
(text_block) @fold
(rhai_block) @fold
