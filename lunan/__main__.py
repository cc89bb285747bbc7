from lunan.cli import main

main()
