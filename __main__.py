from circfin.cli.app import main

main()
