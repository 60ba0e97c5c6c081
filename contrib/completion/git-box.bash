# bash completion for git box, on top of git's own (git-completion.bash).
# `make install` puts it in share/bash-completion/completions/git-box,
# where bash-completion finds it when git's completion asks for
# "git-box"; without bash-completion, source it after git's. Then
# `git box <TAB>` completes commands, options, files and revisions.
#
# The commands and their options come from `git box -h` and
# `git box <command> -h`, so this file never falls behind the binary.

__git_box_commands ()
{
	git box -h 2>/dev/null | sed -n 's/^   \([a-z][a-z-]*\)  .*/\1/p'
}

__git_box_options ()
{
	git box "$1" -h 2>/dev/null | tr ' []|.' '\n\n\n\n\n' |
		sed -n 's/^\(--[a-z][a-z-]*\).*/\1/p' | sort -u
}

_git_box ()
{
	local subcommand
	subcommand="$(__git_find_on_cmdline "$(__git_box_commands)")"
	if [ -z "$subcommand" ]; then
		__gitcomp "$(__git_box_commands)"
		return
	fi
	case "$cur" in
	--*)
		__gitcomp "$(__git_box_options "$subcommand")"
		return
		;;
	esac
	case "$subcommand,$prev" in
	*,--keyring|*,--tsa-ca|*,--policy|*,--from|*,-o|*,--output)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	export,--format)
		__gitcomp "tar tar.gz tar.zst"
		return
		;;
	restore,*|init,*|import,*)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	esac
	__git_complete_refs
}
