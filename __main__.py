from circfin.cli.entry import main

main()
