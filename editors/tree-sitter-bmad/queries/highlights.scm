; Highlighting for .bmad (the names Neovim, Helix and Zed share).

(comment) @comment
(string) @string
(text_block) @string
(rhai) @string.special
(rhai_block) @string.special
(number) @number

(item_keyword) @keyword
(keyword) @keyword

; The name an item defines: the word right after its keyword.
(item
  (item_keyword)
  .
  (identifier) @type)
(item
  (item_keyword)
  .
  (string) @type)

(operator) @operator
(punctuation) @punctuation.delimiter
["{" "}"] @punctuation.bracket

(identifier) @variable
