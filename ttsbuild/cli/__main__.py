from ttsbuild.cli.commands import main

raise SystemExit(main())
