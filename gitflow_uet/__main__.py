from gitflow_uet.cli import main

main()
