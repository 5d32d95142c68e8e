; Neovim's nvim-treesitter and Helix indent a block's lines one level.
(block) @indent
"}" @outdent
