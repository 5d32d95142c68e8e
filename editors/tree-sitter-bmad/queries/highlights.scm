; Highlighting for .bmad (the names Neovim, Helix and Zed share).

(comment) @comment
(string) @string
(text_block) @string
(rhai) @string.special
(rhai_block) @string.special
(number) @number

(item_keyword) @keyword
(keyword) @keyword

(item
  name: (identifier) @type)
(item
  name: (string) @type)
(item
  name: (dotted_name) @module)

(operator) @operator
(punctuation) @punctuation.delimiter
["{" "}"] @punctuation.bracket

(identifier) @variable
