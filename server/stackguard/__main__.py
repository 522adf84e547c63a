from stackguard.cli import main

raise SystemExit(main())
